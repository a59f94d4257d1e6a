import { expect, it } from 'vitest';
import { routeRoles, routes, type RouteDef } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { makeUser, type TestUser } from '../../../test/helpers/identity.ts';
import { refusedUpgrade } from '../../../test/helpers/ws.ts';
import { sseReader } from '../../../test/helpers/sse.ts';

/** A resource of project B that A must not reach: its id, its name, and the code a miss gets. */
interface Target {
  id: string;
  name: string;
  code: string;
  /** No GET of one by id (webhooks): "leaves B as it was" finds it in the list instead. */
  listedOnly?: true;
}

/** Sample bodies and queries for routes whose input has required fields, so validation passes. */
const SAMPLE: Record<string, { body?: unknown; query?: Record<string, string> }> = {
  execVm: { body: { command: 'true' } },
  makeDir: { body: { path: '/tmp/x' } },
  moveFile: { body: { from: '/tmp/x', to: '/tmp/y' } },
  signalProcess: { body: { signal: 'TERM' } },
  restoreVm: { body: { snapshot: 'x' } },
  updateSchedule: { body: { enabled: false } },
  attachVolume: { body: { vm: 'x' } },
  resizeVolume: { body: { size: '2gib' } },
  saveVmAsTemplate: { body: { name: 'iso-copy' } },
  downloadFile: { query: { path: '/etc/hostname' } },
  uploadFile: { query: { path: '/tmp/x' } },
  statFile: { query: { path: '/etc/hostname' } },
  listFiles: { query: { path: '/etc' } },
  removeFile: { query: { path: '/tmp/x' } },
  containerExec: { body: { command: 'true' } },
  createProxyPass: { body: { port: 8080 } },
};

/** Project-scoped routes (a project role in the route table, the project not in the path) with an :id. */
const scopedIdRoutes = Object.entries(routes as Record<string, RouteDef>).filter(([id, r]) => {
  const role = (routeRoles as Record<string, string>)[id];
  return (
    r.path.includes('/:id') &&
    !r.projectParam &&
    (role === 'viewer' || role === 'operator' || role === 'owner')
  );
});

const listRoutes = Object.entries(routes as Record<string, RouteDef>).filter(
  ([id, r]) =>
    r.method === 'GET' &&
    !r.path.includes(':') &&
    !r.raw &&
    ['viewer', 'operator', 'owner'].includes((routeRoles as Record<string, string>)[id] ?? ''),
);

describeOnBackends('project isolation', (db) => {
  const api = useApiPlatform({ db });
  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    api.p.manager.app.inject({ method, url, headers, payload } as never);
  const asAdminIn = (project: string, method: string, url: string, payload?: unknown) =>
    api.inject({ method, url, payload, headers: { 'x-hearth-project': project } });

  let alice: TestUser;
  const b: Record<string, Target> = {};
  let aVmId = '';

  it('sets up project B through the bootstrap admin, and a user who owns project A', async () => {
    const stores = api.p.manager.stores;
    alice = await makeUser(stores, { roles: { 'iso-a': 'owner' } });
    await stores.projects.create('iso-b');

    const vm = await asAdminIn('iso-b', 'POST', '/v1/vms', { name: 'iso-vm', start: false });
    expect(vm.statusCode, vm.body).toBe(201);
    expect(vm.json().project).toBe('iso-b');
    b.vms = { id: vm.json().id, name: 'iso-vm', code: 'VM_NOT_FOUND' };

    const tpl = await asAdminIn('iso-b', 'POST', `/v1/vms/${b.vms.id}/template`, { name: 'iso-tpl' });
    expect(tpl.statusCode, tpl.body).toBe(201);
    expect(tpl.json().project).toBe('iso-b');
    b.templates = { id: tpl.json().id, name: 'iso-tpl', code: 'TEMPLATE_NOT_FOUND' };

    // Size 0: the pool's record is what matters here, not VMs booted for it.
    const pool = await asAdminIn('iso-b', 'POST', '/v1/pools', { name: 'iso-pool', size: 0 });
    expect(pool.statusCode, pool.body).toBe(201);
    b.pools = { id: pool.json().id, name: 'iso-pool', code: 'POOL_NOT_FOUND' };

    const net = await asAdminIn('iso-b', 'POST', '/v1/networks', {
      name: 'iso-net',
      mode: 'isolated',
      cidr: '10.213.0.0/24',
    });
    expect(net.statusCode, net.body).toBe(201);
    b.networks = { id: net.json().id, name: 'iso-net', code: 'NETWORK_NOT_FOUND' };

    const img = await asAdminIn('iso-b', 'POST', '/v1/images', { name: 'iso-img', sha256: 'a'.repeat(64) });
    expect(img.statusCode, img.body).toBe(201);
    b.images = { id: img.json().id, name: 'iso-img', code: 'IMAGE_NOT_FOUND' };

    // Snapshots and volumes need an agent to make their files: their records go in directly.
    const row = (await stores.vms.getUnscoped(b.vms.id))!;
    const snap = await stores.snapshots.insert({
      ...row,
      id: 'snap_isolation_b',
      name: 'iso-snap',
      vm_id: row.id,
      vm_name: row.name,
      host_id: row.host_id!,
      parent_id: null,
      vmm: 'qemu',
      kernel_sha256: 'k',
      image_sha256: 'i',
      guest: { secret: 's', users: [] },
    });
    expect(snap.project).toBe('iso-b');
    b.snapshots = { id: snap.id, name: 'iso-snap', code: 'SNAPSHOT_NOT_FOUND' };
    const vol = await stores.volumes.insert({
      id: 'vol_isolation_b',
      name: 'iso-vol',
      project: 'iso-b',
      size_mib: 64,
      format: 'raw',
      host_id: row.host_id!,
      image_id: null,
    });
    b.volumes = { id: vol.id, name: 'iso-vol', code: 'VOLUME_NOT_FOUND' };
    // A container's record: its lookups are what is checked, not a VM of its own.
    const ctr = await stores.containers.insert({
      id: 'ctr_isolation_b',
      name: 'iso-ctr',
      project: 'iso-b',
      image: 'iso-img',
      phase: 'failed',
      spec: {
        vcpus: 1,
        memoryMib: 256,
        restart: 'no',
        stopSignal: 'SIGTERM',
        stopGraceSeconds: 10,
        start: false,
      },
    });
    b.containers = { id: ctr.id, name: 'iso-ctr', code: 'CONTAINER_NOT_FOUND' };

    const sched = await asAdminIn('iso-b', 'POST', '/v1/snapshot-schedules', {
      name: 'iso-sched',
      vm: b.vms.id,
      cron: '0 3 * * *',
      retention: { count: 2 },
    });
    expect(sched.statusCode, sched.body).toBe(201);
    b['snapshot-schedules'] = { id: sched.json().id, name: 'iso-sched', code: 'SCHEDULE_NOT_FOUND' };

    const hook = await asAdminIn('iso-b', 'POST', '/v1/webhooks', {
      url: 'http://127.0.0.1:9/iso-b',
      events: ['vm.state'],
    });
    expect(hook.statusCode, hook.body).toBe(201);
    b.webhooks = { id: hook.json().id, name: 'iso-hook', code: 'WEBHOOK_NOT_FOUND', listedOnly: true };

    const mine = await call('POST', '/v1/vms', alice.headers('iso-a'), { name: 'iso-vm-a', start: false });
    expect(mine.statusCode, mine.body).toBe(201);
    aVmId = mine.json().id;
  });

  // Everything that needs the fake host ready (creates) runs first: it goes offline without heartbeats.
  it('finds its own resource when B has one of the same name', async () => {
    const same = await call('POST', '/v1/vms', alice.headers('iso-a'), { name: 'iso-vm', start: false });
    expect(same.statusCode, same.body).toBe(201);
    const got = await call('GET', '/v1/vms/iso-vm', alice.headers('iso-a'));
    expect(got.json()).toMatchObject({ id: same.json().id, project: 'iso-a' });
    // A rename by that name changes A's VM, and B's keeps its name.
    const renamed = await call('PATCH', '/v1/vms/iso-vm', alice.headers('iso-a'), { name: 'iso-vm-2' });
    expect(renamed.json()).toMatchObject({ id: same.json().id, name: 'iso-vm-2' });
    expect((await asAdminIn('iso-b', 'GET', '/v1/vms/iso-vm')).json().id).toBe(b.vms!.id);
  });

  it('streams only the changes of VMs in A to A', async () => {
    const res = await fetch(`${api.p.manager.url}/v1/events?project=iso-a`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(res.status).toBe(200);
    const { seen, read, cancel } = sseReader(res);
    await read(() => seen.length > 0);
    expect(seen[0]!.type).toBe('hello');
    // B's VM changes and goes, then A's VM changes: A hears of its own only.
    const bVm = await asAdminIn('iso-b', 'POST', '/v1/vms', { name: 'iso-stream-b', start: false });
    expect(bVm.statusCode).toBe(201);
    await asAdminIn('iso-b', 'PATCH', `/v1/vms/${bVm.json().id}`, { labels: { x: 'y' } });
    const aVm = await call('POST', '/v1/vms', alice.headers('iso-a'), { name: 'iso-stream-a', start: false });
    expect(aVm.statusCode).toBe(201);
    await read(() => seen.some((e) => e.type === 'vm' && e.vm.id === aVm.json().id));
    await cancel();
    const vmIds = seen.flatMap((e) => (e.type === 'vm' ? [e.vm.id] : e.type === 'gone' ? [e.vmId] : []));
    expect(vmIds).toContain(aVm.json().id);
    expect(vmIds).not.toContain(bVm.json().id);
    // A replay from the start position holds nothing of B either.
    const again = await fetch(`${api.p.manager.url}/v1/events?project=iso-a&since=${seen[0]!.seq}`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const text = await readFor(again, aVm.json().id);
    expect(text).toContain(aVm.json().id);
    expect(text).not.toContain(bVm.json().id);
  });

  it('answers every :id route of the route table with not-found for B’s resources, by id and by name', async () => {
    expect(scopedIdRoutes.length).toBeGreaterThan(40);
    for (const [routeId, r] of scopedIdRoutes) {
      const collection = r.path.split('/')[2]!;
      const target = b[collection];
      expect(target, `${routeId}: no resource of B for /v1/${collection}; add one above`).toBeDefined();
      const sample = SAMPLE[routeId] ?? {};
      if (r.body && r.body.safeParse(sample.body ?? {}).success !== true)
        throw new Error(`${routeId}: give a sample body that passes validation`);
      for (const ref of [target!.id, target!.name]) {
        // Other parameters get a value that passes validation (a port is a number).
        const path = r.path
          .replace(':id', encodeURIComponent(ref))
          .replace(':port', '80')
          .replace(/:[a-zA-Z]+/g, 'x');
        const qs = new URLSearchParams(sample.query ?? {}).toString();
        const raw = r.raw?.consumes?.includes('application/octet-stream');
        const res = await call(
          r.method,
          qs ? `${path}?${qs}` : path,
          { ...alice.headers('iso-a'), ...(raw ? { 'content-type': 'application/octet-stream' } : {}) },
          raw ? Buffer.from('x') : r.body ? (sample.body ?? {}) : undefined,
        );
        expect(res.statusCode, `${routeId} ${r.method} ${path}: ${res.body}`).toBe(404);
        expect(res.json().error.code, `${routeId} ${ref}`).toMatch(/_NOT_FOUND$/);
        expect(res.json().error.code).not.toMatch(/^(ROUTE|PROJECT)_NOT_FOUND$/);
        expect(res.body).not.toContain('iso-b');
      }
    }
  });

  it('leaves everything of B as it was', async () => {
    for (const [collection, t] of Object.entries(b)) {
      if (t.listedOnly) {
        const l = await asAdminIn('iso-b', 'GET', `/v1/${collection}`);
        expect((l.json().items as { id: string }[]).map((x) => x.id)).toContain(t.id);
        continue;
      }
      const r = await asAdminIn('iso-b', 'GET', `/v1/${collection}/${t.id}`);
      expect(r.statusCode, `${collection}: ${r.body}`).toBe(200);
      expect(r.json().name).toBe(t.name);
    }
    expect((await asAdminIn('iso-b', 'GET', `/v1/vms/${b.vms!.id}`)).json().state).toBe('created');
  });

  it('lists only A’s resources (and global images, shared networks) to A', async () => {
    expect(listRoutes.map(([id]) => id)).toEqual(expect.arrayContaining(['listVms', 'listImages']));
    const bIds = Object.values(b).map((t) => t.id);
    for (const [routeId, r] of listRoutes) {
      const res = await call('GET', r.path, alice.headers('iso-a'));
      // A route of the contract this manager does not serve yet holds nothing to leak.
      if (res.statusCode === 404 && res.json().error.code === 'ROUTE_NOT_FOUND') continue;
      expect(res.statusCode, `${routeId}: ${res.body}`).toBe(200);
      if (routeId === 'listAudit') {
        // A's trail holds A's own failed attempts on B's ids (A typed them); nothing else of B.
        const items = res.json().items as { project: string; actor: { name: string }; outcome: string }[];
        expect(items.every((r) => r.project === 'iso-a')).toBe(true);
        for (const r of items.filter((r) => bIds.some((id) => JSON.stringify(r).includes(id)))) {
          expect(r.actor.name).toBe(alice.name);
          expect(r.outcome).not.toBe('success');
        }
        continue;
      }
      for (const id of bIds) expect(res.body, `${routeId} shows ${id}`).not.toContain(id);
      expect(res.body).not.toContain('iso-b');
    }
    const vms = (await call('GET', '/v1/vms', alice.headers('iso-a'))).json();
    expect(vms.items.map((v: { id: string }) => v.id)).toContain(aVmId);
    expect(vms.items.every((v: { project: string }) => v.project === 'iso-a')).toBe(true);
    const images = (await call('GET', '/v1/images', alice.headers('iso-a'))).json();
    expect(images.items.some((i: { name: string }) => i.name === 'base')).toBe(true);
    const nets = (await call('GET', '/v1/networks', alice.headers('iso-a'))).json();
    // The shared network counts only A's VMs on it for A (every VM here is on it).
    const shared = nets.items.find((n: { name: string }) => n.name === 'default');
    expect(shared.vmCount).toBe(vms.items.length);
    const usedBy = images.items.find((i: { name: string }) => i.name === 'base').usedBy;
    expect([...usedBy].sort()).toEqual(vms.items.map((v: { id: string }) => v.id).sort());
    // Naming B on a list is refused like any project A's user is not in.
    const named = await call('GET', '/v1/vms?project=iso-b', alice.headers());
    expect(named.json().error.code).toBe('PROJECT_NOT_FOUND');
  });

  it('resolves references inside a create within the project', async () => {
    const viaImage = await call('POST', '/v1/vms', alice.headers('iso-a'), {
      start: false,
      image: b.images!.id,
    });
    expect(viaImage.json().error.code).toBe('IMAGE_NOT_FOUND');
    const viaPool = await call('POST', '/v1/vms', alice.headers('iso-a'), { pool: b.pools!.name });
    expect(viaPool.json().error.code).toBe('POOL_NOT_FOUND');
    const viaNet = await call('POST', '/v1/vms', alice.headers('iso-a'), {
      start: false,
      network: b.networks!.name,
    });
    expect(viaNet.json().error.code).toBe('NETWORK_NOT_FOUND');
    const viaSnap = await call('POST', '/v1/vms', alice.headers('iso-a'), { snapshot: b.snapshots!.id });
    expect(viaSnap.json().error.code).toBe('SNAPSHOT_NOT_FOUND');
    // Subnets are the platform's: an overlap is refused without naming B's network.
    const overlap = await call('POST', '/v1/networks', alice.headers('iso-a'), {
      name: 'a-net',
      mode: 'isolated',
      cidr: '10.213.0.0/24',
    });
    expect(overlap.statusCode, overlap.body).toBeGreaterThanOrEqual(400);
    expect(overlap.statusCode).toBeLessThan(500);
    expect(overlap.body).not.toContain('iso-net');
  });

  it('leaves the shared network and global images to admins', async () => {
    const net = await call('DELETE', '/v1/networks/default', alice.headers('iso-a'));
    expect(net.json().error.code).toBe('ADMIN_REQUIRED');
    const global = await api.p.manager.stores.images.insert({
      name: 'iso-global',
      kind: 'rootfs',
      format: 'ext4',
      arch: 'x86_64',
      sizeBytes: 1,
      sha256: 'b'.repeat(64),
      source: 'test',
      path: '',
      builtin: false,
      meta: {},
    });
    const img = await call('DELETE', `/v1/images/${global.id}`, alice.headers('iso-a'));
    expect(img.json().error.code).toBe('ADMIN_REQUIRED');
    expect((await asAdminIn('iso-a', 'DELETE', `/v1/images/${global.id}`)).statusCode).toBe(200);
  });

  it('refuses a WebSocket into B’s VM with a 404 envelope before the upgrade', async () => {
    const url = `${api.p.manager.url.replace(/^http/, 'ws')}/v1/vms/${b.vms!.id}/console`;
    const r = await refusedUpgrade({ url, headers: alice.headers('iso-a') });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('VM_NOT_FOUND');
  });
});

/** The stream's text until `marker` appears. */
async function readFor(res: Response, marker: string): Promise<string> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  return text;
}
