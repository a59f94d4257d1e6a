import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type Container } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';

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

const wait = (id: string, condition: 'running' | 'exited') =>
  p.client.call('waitContainer', { params: { id }, query: { condition, timeout: 600 } });

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
    await wait(c.id, 'running');
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
    await wait(again.id, 'running');
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
