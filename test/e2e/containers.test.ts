import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type Container } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { until } from '../helpers/vm.ts';

let p: Platform;
let reg: LocalRegistry;
let ref: string;
const VOLUME = 'ctr-e2e-data';

beforeAll(async () => {
  reg = await startRegistry();
  ref = await pushTestImage(reg.host, 'hearth-test/ctr', 'v1');
  // The registry listens on loopback, which imports refuse unless allowed.
  p = await startPlatform({ manager: { importAllow: ['127.0.0.0/8'] } });
}, 180_000);

afterAll(async () => {
  await p?.dispose();
  await reg?.dispose();
});

const wait = (id: string, condition: 'running' | 'healthy' | 'exited') =>
  p.client.call('waitContainer', { params: { id }, query: { condition, timeout: 600 } });

// A container counts as running from its VM's boot until the guest's first app report; that
// report says `starting` while the app's mounts and process are made. Commands that need the
// app's volumes wait for the app itself to be running.
const appRunning = (c: Container) =>
  until(
    'the guest reported the app running',
    async () => (await p.client.call('getVm', { params: { id: c.vm! } })).app?.state === 'running',
    120_000,
  );

const sh = async (id: string, script: string) => {
  const r = await p.client.call('containerExec', {
    params: { id },
    body: { command: ['/bin/sh', '-c', script] },
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.trim();
};

// The guest agent mounts the container's volumes (by disk serial) before its app starts.
const mountData = (serial: string) =>
  `grep -q " /data ext4 " /proc/mounts && for d in /sys/block/vd*; do
     if [ "$(cat $d/serial 2>/dev/null)" = "${serial}" ]; then grep -q "^/dev/\${d##*/} /data " /proc/mounts; fi; done`;

describe('a container from a registry reference, with a named volume that outlives it', () => {
  let c: Container;
  let serial: string;

  it('pulls the reference and runs the image as a container', async () => {
    c = await p.client.call('createContainer', {
      body: {
        name: 'ctr-e2e',
        image: ref,
        env: { MODE: 'container' },
        volumes: [{ source: VOLUME, target: '/data' }],
      },
    });
    expect(['pulling', 'creating', 'starting']).toContain(c.state);
    c = await wait(c.id, 'running');
    await appRunning(c);
    expect(c.imageDigest).toMatch(/^sha256:/);
    expect(c.vm).toBeTruthy();
    const events = await p.client.call('containerEvents', { params: { id: c.id } });
    expect(events.items.map((e) => e.type)).toContain('pulled');
    serial = (await p.client.call('getVolume', { params: { id: VOLUME } })).serial;
  }, 660_000);

  it('execs in it with the image ENV, the container env and the image WORKDIR', async () => {
    // The image's entrypoint writes its environment to /srv/app.env once it started.
    const env = await sh(c.id, 'while [ ! -s /srv/app.env ]; do sleep 0.2; done; cat /srv/app.env');
    expect(env).toContain('MODE=container');
    expect(env).toContain('GREETING=hello from the image');
    expect(await sh(c.id, 'pwd')).toBe('/srv');
    expect(await sh(c.id, 'echo $MODE')).toBe('container');
  });

  it('keeps a file on the named volume across stop and start', async () => {
    await sh(c.id, `${mountData(serial)} && echo kept > /data/keep.txt && /bin/busybox sync`);
    await p.client.call('stopContainer', { params: { id: c.id }, body: {} });
    expect((await wait(c.id, 'exited')).state).toBe('exited');
    await p.client.call('startContainer', { params: { id: c.id } });
    await appRunning(await wait(c.id, 'running'));
    expect(await sh(c.id, `${mountData(serial)} && cat /data/keep.txt`)).toBe('kept');
  }, 600_000);

  it('refuses rm of a running container; rm --force keeps the volume for a new container', async () => {
    const refused = await p.client.call('deleteContainer', { params: { id: c.id } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HearthError);
    expect((refused as HearthError).code).toBe('CONTAINER_INVALID_STATE');
    await p.client.call('deleteContainer', { params: { id: c.id }, query: { force: 'true' } });
    expect((await p.client.call('getVolume', { params: { id: VOLUME } })).attachedTo).toBeNull();

    const again = await p.client.call('createContainer', {
      body: { name: 'ctr-e2e-2', image: ref, volumes: [{ source: VOLUME, target: '/data' }] },
    });
    // The same reference is not pulled again: the earlier import is reused.
    expect(again.state).not.toBe('pulling');
    expect(again.imageId).toBe(c.imageId);
    await appRunning(await wait(again.id, 'running'));
    expect(await sh(again.id, `${mountData(serial)} && cat /data/keep.txt`)).toBe('kept');

    await p.client.call('deleteContainer', {
      params: { id: again.id },
      query: { force: 'true', volumes: 'true' },
    });
    const gone = await p.client.call('getVolume', { params: { id: VOLUME } }).catch((e: unknown) => e);
    expect((gone as HearthError).code).toBe('VOLUME_NOT_FOUND');
    expect((await p.client.call('listContainers', { query: { all: 'true' } })).items).toEqual([]);
  }, 600_000);
});

// The restart policy and the health check are the guest agent's to apply; the manager shows
// what it reports as the container's state, restart count, health and events.
describe('restart policies and health checks of a container', () => {
  const get = (id: string) => p.client.call('getContainer', { params: { id } });
  const events = async (id: string) =>
    (await p.client.call('containerEvents', { params: { id }, query: { limit: 200 } })).items;
  const messages = async (id: string, type: string) =>
    (await events(id)).filter((e) => e.type === type).map((e) => e.message);
  const remove = (id: string) =>
    p.client.call('deleteContainer', { params: { id }, query: { force: 'true' } });

  it('on-failure:2 restarts an app that exits 3 twice, then leaves it exited with code 3', async () => {
    const c = await p.client.call('createContainer', {
      body: {
        name: 'ctr-on-failure',
        image: ref,
        entrypoint: ['/bin/sh', '-c', 'echo failing; exit 3'],
        restart: 'on-failure:2',
      },
    });
    const done = await wait(c.id, 'exited');
    expect(done).toMatchObject({ state: 'exited', exitCode: 3, restarts: 2 });
    expect(done.stateReason).toContain('max-retries');
    await until('the exit is in its events', async () => (await messages(c.id, 'exited')).length > 0, 60_000);
    expect(await messages(c.id, 'restarted')).toEqual([
      'restarted, exit code 3, attempt 1',
      'restarted, exit code 3, attempt 2',
    ]);
    expect((await messages(c.id, 'exited'))[0]).toMatch(/^exited with code 3/);
    await remove(c.id);
  }, 600_000);

  it('always restarts an app that exits (even with 0); a stop stops it for good', async () => {
    const c = await p.client.call('createContainer', {
      body: {
        name: 'ctr-always',
        image: ref,
        entrypoint: [
          '/bin/sh',
          '-c',
          'echo up; while [ ! -f /tmp/quit ]; do sleep 1; done; /bin/busybox rm /tmp/quit; exit 0',
        ],
        restart: 'always',
      },
    });
    expect(await wait(c.id, 'running')).toMatchObject({ state: 'running', restarts: 0 });
    await sh(c.id, ': > /tmp/quit');
    await until(
      'the app is restarted and running again',
      async () => {
        const now = await get(c.id);
        return now.restarts === 1 && now.state === 'running';
      },
      300_000,
    );
    await until('the restart is in its events', async () => (await messages(c.id, 'restarted')).length > 0);
    expect(await messages(c.id, 'restarted')).toEqual(['restarted, exit code 0, attempt 1']);

    await p.client.call('stopContainer', { params: { id: c.id }, body: {} });
    const stopped = await wait(c.id, 'exited');
    expect(stopped).toMatchObject({ state: 'exited', restarts: 1 });
    const vm = await p.client.call('getVm', { params: { id: c.vm! } });
    expect(vm.state).toBe('stopped');
    // The restart policy is applied by the manager's sweep to a stopped VM: one more sweep after
    // the stop must leave it stopped.
    await p.manager.containers.sweep();
    expect(await get(c.id)).toMatchObject({ state: 'exited', restarts: 1 });
    expect((await p.client.call('getVm', { params: { id: c.vm! } })).state).toBe('stopped');
    await remove(c.id);
  }, 600_000);

  it('reports health starting, then unhealthy, then healthy once the check passes', async () => {
    const c = await p.client.call('createContainer', {
      body: {
        name: 'ctr-health',
        image: ref,
        // The start period keeps it `starting` long enough to be seen before the failures count.
        healthcheck: { cmd: 'test -f /tmp/ok', interval: '1s', retries: 2, startPeriod: '20s' },
      },
    });
    expect((await wait(c.id, 'running')).health).toBe('starting');
    // Waiting for healthy fails once the check has failed `retries` times in a row.
    const failed = await wait(c.id, 'healthy').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(HearthError);
    expect((failed as HearthError).code).toBe('CONTAINER_FAILED');
    expect((failed as HearthError).detail).toMatchObject({ state: 'running', health: 'unhealthy' });
    expect((await get(c.id)).health).toBe('unhealthy');

    await sh(c.id, '/bin/busybox touch /tmp/ok');
    await until('the check passes', async () => (await get(c.id)).health === 'healthy', 120_000);
    expect(await wait(c.id, 'healthy')).toMatchObject({ state: 'running', health: 'healthy' });
    await until('healthy is in its events', async () => (await messages(c.id, 'health')).includes('healthy'));
    expect(await messages(c.id, 'health')).toEqual(['starting', 'unhealthy', 'healthy']);
    await remove(c.id);
  }, 600_000);
});
