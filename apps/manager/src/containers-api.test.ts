import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AppStatus, Container, ContainerEvent, GuestApp } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeVmAgent } from '../../../test/helpers/fake-vm-agent.ts';

/** An imported OCI image as the import records it (no file: the fake agent boots nothing). */
const OCI_META = {
  init: 'hearth-guest',
  ociDigest: 'sha256:' + 'a'.repeat(64),
  oci: {
    ref: 'registry.test:5000/tools/busybox:1',
    digest: 'sha256:' + 'a'.repeat(64),
    entrypoint: ['/bin/sh'],
    cmd: ['-c', 'sleep 1000'],
    env: ['PATH=/bin', 'FROM_IMAGE=1'],
    workdir: '/srv',
    user: '',
  },
};

describeOnBackends('containers API', (db) => {
  const api = useApiPlatform({ db, host: null, platform: { manager: { containerSweepMs: 3_600_000 } } });
  const agent = fakeVmAgent();
  const call = (method: string, url: string, payload?: unknown) => api.inject({ method, url, payload });
  const create = async (body: Record<string, unknown>) => {
    const r = await call('POST', '/v1/containers', { image: 'busybox-imported', ...body });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Container;
  };
  const get = async (ref: string) => (await call('GET', `/v1/containers/${ref}`)).json() as Container;
  const waitFor = async (ref: string, condition: string) => {
    const r = await call('GET', `/v1/containers/${ref}/wait?condition=${condition}&timeout=60`);
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as Container;
  };
  /** What the guest agent reports about the app, written where the manager keeps it. */
  const reportApp = async (vmId: string, app: Partial<AppStatus>) => {
    const full: AppStatus = {
      state: 'running',
      pid: 10,
      exitCode: null,
      signal: null,
      reason: null,
      restarts: 0,
      health: null,
      healthLog: [],
      startedAt: new Date().toISOString(),
      finishedAt: null,
      ...app,
    };
    await api.p.manager.db.query('UPDATE vms SET app = $1::jsonb WHERE id = $2', [
      JSON.stringify(full),
      vmId,
    ]);
    await api.p.manager.containers.sweep();
  };
  const appOf = (vmId: string): GuestApp => {
    const spec = agent.starts.filter((s) => s.id === vmId).at(-1);
    expect(spec, `a start of ${vmId}`).toBeDefined();
    return spec!.guest!.app!;
  };

  beforeAll(async () => {
    await agent.register(api.p.manager, 'ctr-host');
    await api.p.manager.stores.images.insert({
      name: 'busybox-imported',
      kind: 'rootfs',
      format: 'ext4',
      arch: 'x86_64',
      sizeBytes: 2 ** 20,
      sha256: 'b'.repeat(64),
      source: 'oci:registry.test:5000/tools/busybox:1',
      path: '/nonexistent/busybox.ext4',
      builtin: false,
      meta: OCI_META,
      project: 'default',
    });
    await api.p.manager.stores.projects.create('ctr-other');
  });
  afterAll(async () => {
    await agent.close();
  });

  it('refuses bad input with 400 and a field', async () => {
    for (const bad of [
      { restart: 'sometimes' },
      { healthcheck: { cmd: 'true', tcp: { port: 80 } } },
      { volumes: [{ source: 'data', target: '/' }] },
      { ports: [{ host: 0, container: 80 }] },
      { surprise: true },
    ]) {
      const r = await call('POST', '/v1/containers', { image: 'busybox-imported', ...bad });
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.json().error.code).toBe('VALIDATION_FAILED');
      expect(r.json().error.hint).toBeTruthy();
    }
  });

  it('refuses an image that is neither imported nor pullable', async () => {
    const never = await call('POST', '/v1/containers', { image: 'registry.test:5000/nope:1', pull: 'never' });
    expect(never.statusCode, never.body).toBe(404);
    expect(never.json().error.code).toBe('IMAGE_NOT_FOUND');
    const garbage = await call('POST', '/v1/containers', { image: 'Not A Reference!' });
    expect(garbage.statusCode).toBe(404);
    expect(garbage.json().error.code).toBe('IMAGE_NOT_FOUND');
    expect(await api.count('containers')).toBe(0);
  });

  it('creates and starts a container: its VM is labelled, runs the container app, and it is running', async () => {
    const c = await create({
      name: 'web',
      command: ['httpd', '-f'],
      env: { MODE: 'prod' },
      workdir: '/app',
      ports: [{ host: 18080, container: 80 }],
      restart: 'on-failure:3',
      healthcheck: { cmd: 'wget -q -O- localhost', interval: '5s', retries: 2 },
      stopSignal: 'SIGQUIT',
      stopGraceSeconds: 3,
      volumes: [{ source: 'webdata', target: '/data' }],
      labels: { tier: 'front' },
    });
    expect(['starting', 'running']).toContain(c.state);
    expect(c.vm).toBeTruthy();
    const running = await waitFor('web', 'running');
    expect(running).toMatchObject({ state: 'running', health: 'starting', imageId: expect.any(String) });
    const vm = (await call('GET', `/v1/vms/${c.vm}`)).json();
    expect(vm.labels).toMatchObject({ 'hearth.container': c.id, tier: 'front' });
    expect(vm.ports).toEqual([{ host: 18080, guest: 80, protocol: 'tcp' }]);
    const app = appOf(c.vm!);
    // CMD replaced, ENTRYPOINT kept (Docker's rule); the image's ENV, then the container's.
    expect(app.argv).toEqual(['/bin/sh', 'httpd', '-f']);
    expect(app.env).toEqual(expect.arrayContaining(['FROM_IMAGE=1', 'MODE=prod', 'PATH=/bin']));
    expect(app).toMatchObject({
      workdir: '/app',
      restart: 'on-failure',
      maxRetries: 3,
      stopSignal: 'SIGQUIT',
      stopGraceMs: 3000,
      console: false,
      healthcheck: { cmd: ['/bin/sh', '-c', 'wget -q -O- localhost'], intervalMs: 5000, retries: 2 },
    });
    const vol = (await call('GET', '/v1/volumes/webdata')).json();
    expect(vol).toMatchObject({ attachedTo: c.vm, sizeMib: 1024 });
    expect(app.mounts).toEqual([{ serial: vol.serial, target: '/data', readOnly: false }]);
  });

  it("publishes its network aliases (compose service names) on its network's DNS", async () => {
    const net = await call('POST', '/v1/networks', {
      name: 'ctr-alias-net',
      mode: 'nat',
      cidr: '10.77.7.0/24',
    });
    expect(net.statusCode, net.body).toBe(201);
    const c = await create({ name: 'shop-db-1', network: 'ctr-alias-net', networkAliases: ['db'] });
    await waitFor(c.id, 'running');
    const spec = agent.starts.filter((s) => s.id === c.vm).at(-1)!;
    const nic = [spec.network, ...spec.nics].find((n) => n?.ip?.startsWith('10.77.7.'));
    expect(nic).toMatchObject({
      dnsNames: expect.arrayContaining(['shop-db-1']),
      dnsAliases: ['db.ctr-alias-net.hearth', 'db'],
    });
    await call('DELETE', `/v1/containers/${c.id}?force=true`);
  });

  it('refuses a name taken in the project, and finds containers by id, id prefix and name', async () => {
    const r = await call('POST', '/v1/containers', { image: 'busybox-imported', name: 'web' });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('CONTAINER_NAME_TAKEN');
    const web = await get('web');
    expect((await get(web.id)).id).toBe(web.id);
    expect((await get(web.id.slice(4, 20))).id).toBe(web.id);
    const short = await call('GET', `/v1/containers/${web.id.slice(4, 7)}`);
    expect(short.statusCode).toBe(404);
    expect(short.json().error.code).toBe('CONTAINER_NOT_FOUND');
  });

  it('derives states from the app the guest reports: exit code, health, restarts', async () => {
    const web = await get('web');
    await reportApp(web.vm!, { state: 'running', health: 'healthy' });
    expect(await get('web')).toMatchObject({ state: 'running', health: 'healthy' });
    // Two quick restarts in one report: each is an event, with the exit code the guest named.
    for (const n of [1, 2])
      await api.p.manager.stores.vms.addEvent(
        web.vm!,
        'app',
        'agent',
        `restarted, exit code 1, attempt ${n}`,
      );
    await reportApp(web.vm!, { state: 'restarting', restarts: 2, exitCode: 1 });
    expect(await get('web')).toMatchObject({ state: 'restarting', restarts: 2 });
    await reportApp(web.vm!, { state: 'exited', exitCode: 3, reason: 'max-retries', restarts: 3 });
    expect(await get('web')).toMatchObject({ state: 'exited', exitCode: 3, stateReason: 'max-retries' });
    const events = (await call('GET', `/v1/containers/web/events`)).json().items as ContainerEvent[];
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['created', 'started', 'health', 'restarted', 'exited']));
    expect(events.find((e) => e.type === 'exited')!.message).toContain('code 3');
    expect(events.filter((e) => e.type === 'restarted').map((e) => e.message)).toEqual([
      'restarted, exit code 1, attempt 1',
      'restarted, exit code 1, attempt 2',
      // No guest event named its exit code.
      'restarted, attempt 3',
    ]);
    await reportApp(web.vm!, { state: 'running', restarts: 3 });
    expect((await get('web')).state).toBe('running');
  });

  it('stops, starts, pauses, resumes and restarts through states a container user expects', async () => {
    const stop = await call('POST', '/v1/containers/web/stop', {});
    expect(stop.statusCode, stop.body).toBe(202);
    const exited = await waitFor('web', 'exited');
    expect(exited.state).toBe('exited');
    expect(exited.finishedAt).toBeTruthy();
    const pauseExited = await call('POST', '/v1/containers/web/pause');
    expect(pauseExited.statusCode).toBe(409);
    expect(pauseExited.json().error.code).toBe('CONTAINER_INVALID_STATE');
    expect((await call('POST', '/v1/containers/web/start')).statusCode).toBe(202);
    await waitFor('web', 'running');
    expect((await call('POST', '/v1/containers/web/pause')).statusCode).toBe(202);
    for (;;) {
      const c = await get('web');
      if (c.state === 'paused') break;
      expect(['running', 'paused']).toContain(c.state);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await call('POST', '/v1/containers/web/resume')).statusCode).toBe(202);
    await waitFor('web', 'running');
    expect((await call('POST', '/v1/containers/web/restart', {})).statusCode).toBe(202);
    await waitFor('web', 'running');
  });

  it('waits: a timeout is a 408, a container that exits while waited for running is CONTAINER_FAILED', async () => {
    const t = await call('GET', '/v1/containers/web/wait?condition=exited&timeout=0');
    expect(t.statusCode).toBe(408);
    expect(t.json().error.code).toBe('WAIT_TIMEOUT');
    const one = await create({ name: 'oneshot', start: false });
    expect(one.state).toBe('exited');
    expect(one.startedAt).toBeNull();
    const failed = await call('GET', '/v1/containers/oneshot/wait?condition=running&timeout=30');
    expect(failed.statusCode).toBe(409);
    expect(failed.json().error.code).toBe('CONTAINER_FAILED');
  });

  it('keeps secrets write-only: sealed in the database, resolved into the app env at boot', async () => {
    const missing = await call('POST', '/v1/containers', {
      image: 'busybox-imported',
      secretEnv: { DB_PASSWORD: 'db-pass' },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('SECRET_NOT_FOUND');
    const put = await call('PUT', '/v1/secrets/db-pass', { value: 's3cret-value' });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.body).not.toContain('s3cret-value');
    const list = await call('GET', '/v1/secrets');
    expect(list.json().items.map((s: { name: string }) => s.name)).toEqual(['db-pass']);
    expect(list.body).not.toContain('s3cret-value');
    const rows = await api.p.manager.db.query<{ value: string }>(`SELECT value FROM secrets`);
    expect(rows[0]!.value).not.toContain('s3cret-value');
    expect(rows[0]!.value.startsWith('v1:')).toBe(true);
    const c = await create({ name: 'withsecret', secretEnv: { DB_PASSWORD: 'db-pass' } });
    expect(JSON.stringify(c)).not.toContain('s3cret-value');
    expect(c.secretEnv).toEqual({ DB_PASSWORD: 'db-pass' });
    await waitFor('withsecret', 'running');
    expect(appOf(c.vm!).env).toContain('DB_PASSWORD=s3cret-value');
    const vm = await call('GET', `/v1/vms/${c.vm}`);
    expect(vm.body).not.toContain('s3cret-value');
    // An exec gets the container's environment and working directory by default.
    const exec = await call('POST', '/v1/containers/withsecret/exec', { command: ['env'] });
    expect(exec.statusCode, exec.body).toBe(200);
    const sent = JSON.parse(exec.json().stdout as string) as { env: Record<string, string>; cwd: string };
    expect(sent.env).toMatchObject({ DB_PASSWORD: 's3cret-value', FROM_IMAGE: '1' });
    expect(sent.cwd).toBe('/srv');
    const stats = await call('GET', '/v1/containers/withsecret/stats');
    expect(stats.json()).toMatchObject({
      cpuPercent: 12.5,
      netRxBytes: 10,
      netTxBytes: 20,
      diskReadBytes: 4096,
      diskWriteBytes: 8192,
      pids: 7,
    });
    const gone = await call('DELETE', '/v1/secrets/db-pass');
    expect(gone.statusCode).toBe(200);
    expect((await call('DELETE', '/v1/secrets/db-pass')).json().error.code).toBe('SECRET_NOT_FOUND');
  });

  it('lists running containers by default, every one with all, filtered by state, name prefix and label', async () => {
    const names = async (q: string) =>
      ((await call('GET', `/v1/containers${q}`)).json().items as Container[]).map((c) => c.name).sort();
    expect(await names('')).toEqual(['web', 'withsecret']);
    expect(await names('?all=true')).toEqual(['oneshot', 'web', 'withsecret']);
    expect(await names('?state=exited')).toEqual(['oneshot']);
    expect(await names('?all=true&name=w')).toEqual(['web', 'withsecret']);
    expect(await names('?all=true&label=tier')).toEqual(['web']);
    expect(await names('?all=true&label=tier%3Dback')).toEqual([]);
    expect(await names('?all=true&project=ctr-other')).toEqual([]);
  });

  it('keeps projects apart', async () => {
    const inOther = await api.inject({
      method: 'GET',
      url: '/v1/containers/web',
      headers: { 'x-hearth-project': 'ctr-other' },
    });
    expect(inOther.statusCode).toBe(404);
    const other = await api.inject({
      method: 'POST',
      url: '/v1/containers',
      payload: { image: 'busybox-imported', name: 'web', project: 'ctr-other', pull: 'never', start: false },
    });
    // The imported image belongs to project default: project ctr-other does not see it.
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('IMAGE_NOT_FOUND');
  });

  it('refuses to remove a running container unless forced; `volumes` deletes its named volumes', async () => {
    const refused = await call('DELETE', '/v1/containers/web');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('CONTAINER_INVALID_STATE');
    const web = await get('web');
    const forced = await call('DELETE', '/v1/containers/web?force=true');
    expect(forced.statusCode, forced.body).toBe(200);
    expect((await call('GET', '/v1/containers/web')).statusCode).toBe(404);
    expect((await call('GET', `/v1/vms/${web.vm}`)).statusCode).toBe(404);
    // The named volume outlives the container; a new container gets it back.
    expect((await call('GET', '/v1/volumes/webdata')).json().attachedTo).toBeNull();
    const again = await create({ name: 'web2', volumes: [{ source: 'webdata', target: '/data' }] });
    expect((await call('GET', '/v1/volumes/webdata')).json().attachedTo).toBe(again.vm);
    await call('POST', '/v1/containers/web2/stop', {});
    await waitFor('web2', 'exited');
    const rm = await call('DELETE', '/v1/containers/web2?volumes=true');
    expect(rm.statusCode, rm.body).toBe(200);
    expect((await call('GET', '/v1/volumes/webdata')).statusCode).toBe(404);
    expect(await api.count(`container_events WHERE container_id = '${again.id}'`)).toBe(0);
  });

  it('starts an `always` container again when its VM stopped unasked, not after a user stop', async () => {
    const c = await create({ name: 'keeper', restart: 'always' });
    await waitFor('keeper', 'running');
    const starts = () => agent.starts.filter((s) => s.id === c.vm).length;
    const before = starts();
    // The host reports the VM stopped (a crash): nobody asked for it.
    const host = (await call('GET', `/v1/vms/${c.vm}`)).json().host as string;
    await api.p.manager.vmService.reconcile(
      host,
      [
        {
          id: c.vm!,
          phase: 'stopped',
          reason: 'crashed',
          pid: null,
          accel: null,
          startedAt: null,
          bootMs: null,
        },
      ],
      false,
    );
    await api.p.manager.containers.sweep();
    await waitFor('keeper', 'running');
    expect(starts()).toBe(before + 1);
    await call('POST', '/v1/containers/keeper/stop', {});
    await waitFor('keeper', 'exited');
    await api.p.manager.containers.sweep();
    expect((await get('keeper')).state).toBe('exited');
    expect(starts()).toBe(before + 1);
  });

  it('fails a pull of an unreachable registry with the import reason', async () => {
    const c = await create({ image: '127.0.0.1:9/missing/app:1', name: 'unpullable' });
    expect(c.state).toBe('pulling');
    expect(c.pull).not.toBeNull();
    const r = await call('GET', '/v1/containers/unpullable/wait?condition=running&timeout=60');
    expect(r.statusCode).toBe(409);
    const failed = await get('unpullable');
    expect(failed.state).toBe('failed');
    expect(failed.stateReason).toMatch(/pulling 127\.0\.0\.1:9\/missing\/app:1 failed/);
    expect((await call('DELETE', '/v1/containers/unpullable')).statusCode).toBe(200);
  });
});
