import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool, Vm } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';

/**
 * A host agent that boots nothing: a start answers `running` at once, a personalize is recorded
 * (or refused, while `refuse` is set), a delete succeeds. Enough for the manager's side of warm
 * pools: refills, takes, hand-outs and fallbacks.
 */
function fakeAgent() {
  const personalized: { vm: string; body: { hostname: string; env: Record<string, string> } }[] = [];
  /** `hold`: personalize answers once it resolves; `held` is called when one is waiting on it. */
  const state = {
    refuse: false,
    hold: null as Promise<void> | null,
    held: null as (() => void) | null,
  };
  /** What a snapshot pool asked of the host: starts, snapshots, restores, snapshot deletions. */
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const id = /^\/agent\/v1\/vms\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '';
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const status = (phase: string) => ({
        id,
        phase,
        reason: null,
        pid: 4242,
        accel: 'tcg',
        startedAt: new Date().toISOString(),
        bootMs: 1,
      });
      if (req.method === 'POST' && req.url?.endsWith('/start')) {
        calls.push(`start ${id}`);
        return send(200, status('running'));
      }
      // The path without its query (a snapshot call carries ?kind=…).
      const snapshotted = /\/snapshots\/([^/?]+)$/.exec((req.url ?? '').split('?')[0]!)?.[1];
      if (req.method === 'POST' && snapshotted) {
        calls.push(`snapshot ${id} ${snapshotted}`);
        const at = new Date().toISOString();
        return send(200, {
          vmm: 'qemu',
          vmmVersion: '7.2.0',
          type: 'full',
          vmId: id,
          createdAt: at,
          sizeBytes: 1,
        });
      }
      if (req.method === 'POST' && req.url?.endsWith('/restore')) {
        calls.push(`restore ${id} ${(JSON.parse(data) as { snapshotId: string }).snapshotId}`);
        return send(200, status('running'));
      }
      if (req.method === 'DELETE' && snapshotted) calls.push(`delete-snapshot ${snapshotted}`);
      if (req.method === 'POST' && req.url?.endsWith('/personalize')) {
        if (state.refuse) {
          return send(500, { error: { code: 'AGENT_ERROR', message: 'the guest refused', hint: 'x' } });
        }
        const answer = () => {
          personalized.push({ vm: id, body: JSON.parse(data) as (typeof personalized)[number]['body'] });
          send(200, { adjustedMs: 0, machineId: false });
        };
        if (!state.hold) return answer();
        state.held?.();
        void state.hold.then(answer);
        return;
      }
      if (req.method === 'DELETE') return send(200, { ok: true });
      if (req.method === 'POST' && req.url?.includes('/networks/')) return send(200, { ok: true });
      send(404, { error: { code: 'ROUTE_NOT_FOUND', message: 'no such route', hint: 'x' } });
    });
  });
  return { server, personalized, state, calls };
}

describeOnBackends('warm pools', (db) => {
  const api = useApiPlatform({ db, host: null, platform: { manager: { poolIntervalMs: 200 } } });
  const agent = fakeAgent();
  const inject = (method: string, url: string, payload?: unknown) => api.inject({ method, url, payload });
  const pool = async (name: string) => (await inject('GET', `/v1/pools/${name}`)).json() as Pool;
  /** Resolves once the pool reports `ready` VMs waiting (the refill loop runs in the background). */
  const untilReady = async (name: string, ready: number) => {
    for (;;) {
      const p = await pool(name);
      if (p.ready === ready && p.warming === 0) return p;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    await new Promise<void>((r) => agent.server.listen(0, '127.0.0.1', r));
    const port = (agent.server.address() as AddressInfo).port;
    const reg = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
      payload: {
        name: 'pool-host',
        url: `http://127.0.0.1:${port}`,
        callbackToken: 'x'.repeat(32),
        inventory: fakeInventory,
      },
    });
    expect(reg.statusCode, reg.body).toBe(200);
  });
  afterAll(async () => {
    await new Promise((r) => agent.server.close(r));
  });

  it('creates a pool that fills itself with pooled VMs, visible in the VM list', async () => {
    const r = await inject('POST', '/v1/pools', { name: 'web', size: 3 });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({
      name: 'web',
      size: 3,
      mode: 'booted',
      hits: 0,
      misses: 0,
      hitRate: null,
    });
    await untilReady('web', 3);
    const vms = (await inject('GET', '/v1/vms?limit=100')).json().items as Vm[];
    const pooled = vms.filter((v) => v.pool === 'web');
    expect(pooled).toHaveLength(3);
    expect(pooled.every((v) => v.state === 'pooled')).toBe(true);
    const list = (await inject('GET', '/v1/pools')).json().items as Pool[];
    expect(list.map((p) => p.name)).toContain('web');
  });

  it('hands out ready VMs to 10 concurrent creates without giving one VM twice', async () => {
    await untilReady('web', 3);
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        inject('POST', '/v1/vms', { name: `c-${i}`, pool: 'web', env: { N: String(i) } }),
      ),
    );
    for (const r of rs) expect(r.statusCode, r.body).toBe(201);
    const made = rs.map((r) => r.json() as Vm);
    const hits = made.filter((v) => v.boot?.source === 'pool');
    const cold = made.filter((v) => v.boot?.source === 'cold');
    expect(hits).toHaveLength(3);
    expect(cold).toHaveLength(7);
    expect(new Set(made.map((v) => v.id)).size).toBe(10);
    for (const v of hits) {
      expect(v).toMatchObject({ state: 'running', pool: 'web' });
      expect(v.boot?.steps.map((s) => s.name)).toEqual(['take', 'personalize']);
    }
    for (const v of cold) expect(v.pool).toBeNull();
    // Each hand-out personalized its own VM with its own name and env.
    const byVm = new Map(agent.personalized.map((p) => [p.vm, p.body]));
    for (const v of hits) {
      const i = v.name.slice(2);
      expect(byVm.get(v.id)).toMatchObject({ hostname: v.name, env: { N: i } });
    }
    const p = await pool('web');
    expect(p).toMatchObject({ hits: 3, misses: 7 });
    expect(p.hitRate).toBeCloseTo(0.3);
    // And the pool refills itself.
    await untilReady('web', 3);
  });

  it('refuses what the pool decides, unknown pools and taken names', async () => {
    const bad = await inject('POST', '/v1/vms', { pool: 'web', image: 'other', vcpus: 2 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'POOL_MISMATCH', hint: expect.any(String) });
    expect(Object.keys(bad.json().error.fields).sort()).toEqual(['image', 'vcpus']);
    const none = await inject('POST', '/v1/vms', { pool: 'nope' });
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('POOL_NOT_FOUND');
    expect((await inject('GET', '/v1/pools/nope')).json().error.code).toBe('POOL_NOT_FOUND');
    const taken = await inject('POST', '/v1/vms', { pool: 'web', name: 'c-1' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('VM_NAME_TAKEN');
    const dup = await inject('POST', '/v1/pools', { name: 'web' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('POOL_NAME_TAKEN');
    const noImage = await inject('POST', '/v1/pools', { name: 'x', spec: { image: 'no-such-image' } });
    expect(noImage.json().error.code).toBe('IMAGE_NOT_FOUND');
    const noTemplate = await inject('POST', '/v1/pools', { name: 'y', spec: { template: 'none' } });
    expect(noTemplate.json().error.code).toBe('TEMPLATE_NOT_FOUND');
    const noNet = await inject('POST', '/v1/pools', { name: 'z', spec: { network: 'none' } });
    expect(noNet.json().error.code).toBe('NETWORK_NOT_FOUND');
    expect((await inject('PATCH', '/v1/pools/nope', { size: 1 })).json().error.code).toBe('POOL_NOT_FOUND');
    const snap = await inject('POST', '/v1/pools', { name: 's', mode: 'frozen' });
    expect(snap.statusCode).toBe(400);
    expect(snap.json().error.fields).toEqual({ mode: [expect.any(String)] });
  });

  it('falls back to a cold boot when personalizing fails, and counts a miss', async () => {
    await untilReady('web', 3);
    const before = await pool('web');
    agent.state.refuse = true;
    try {
      const r = await inject('POST', '/v1/vms', { name: 'after-refusal', pool: 'web' });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json()).toMatchObject({ name: 'after-refusal', pool: null, boot: { source: 'cold' } });
    } finally {
      agent.state.refuse = false;
    }
    expect((await pool('web')).misses).toBe(before.misses + 1);
  });

  it('counts a hand-out in flight as a boot on its host, so no refill competes with it', async () => {
    await untilReady('web', 3);
    let release = () => {};
    agent.state.hold = new Promise<void>((r) => (release = r));
    const held = new Promise<void>((r) => (agent.state.held = r));
    const create = inject('POST', '/v1/vms', { name: 'held-hand-out', pool: 'web' });
    try {
      await held;
      const busy = await api.p.manager.stores.pools.bootingHosts();
      const host = (await inject('GET', '/v1/hosts')).json().items[0] as { id: string };
      expect([...busy]).toEqual([host.id]);
    } finally {
      agent.state.hold = null;
      agent.state.held = null;
      release();
    }
    const r = await create;
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ name: 'held-hand-out', state: 'running', boot: { source: 'pool' } });
    await untilReady('web', 3);
  });

  it('counts pooled VMs against the project quota', async () => {
    const usage = (await inject('GET', '/v1/projects/default')).json().usage as { vms: number };
    const vms = (await inject('GET', '/v1/vms?limit=200')).json().items as Vm[];
    expect(vms.some((v) => v.state === 'pooled')).toBe(true);
    expect(usage.vms).toBe(vms.length);
  });

  it('resizes a pool and deletes its waiting VMs with it, leaving handed-out ones', async () => {
    const r = await inject('PATCH', '/v1/pools/web', { size: 1 });
    expect(r.statusCode, r.body).toBe(200);
    await untilReady('web', 1);
    const del = await inject('DELETE', '/v1/pools/web');
    expect(del.statusCode, del.body).toBe(200);
    expect((await inject('GET', '/v1/pools/web')).statusCode).toBe(404);
    await api.p.manager.vmService.drain();
    const vms = (await inject('GET', '/v1/vms?limit=200')).json().items as Vm[];
    expect(vms.filter((v) => v.state === 'pooled')).toEqual([]);
    // Three from the concurrent creates, one from the held hand-out.
    expect(vms.filter((v) => v.pool === 'web' && v.state === 'running')).toHaveLength(4);
  });

  it('snapshot mode: boots one VM, snapshots it, restores the rest; a new spec or deleting the pool drops the snapshot', async () => {
    agent.calls.length = 0;
    const r = await inject('POST', '/v1/pools', { name: 'fast', size: 3, mode: 'snapshot' });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ mode: 'snapshot', snapshot: null });
    const full = await untilReady('fast', 3);
    const snap = full.snapshot!;
    expect(snap).toBeTruthy();
    const kinds = agent.calls.map((c) => c.split(' ')[0]);
    expect(kinds).toEqual(['start', 'snapshot', 'restore', 'restore']);
    expect(agent.calls.filter((c) => c.startsWith('restore')).every((c) => c.endsWith(` ${snap}`))).toBe(
      true,
    );
    const shown = (await inject('GET', `/v1/snapshots/${snap}`)).json() as { name: string };
    expect(shown.name).toMatch(/^pool-fast-/);
    // A hand-out is a booted pool's; the refill restores again.
    const vm = (await inject('POST', '/v1/vms', { name: 'fast-1', pool: 'fast' })).json() as Vm;
    expect(vm).toMatchObject({ state: 'running', pool: 'fast', boot: { source: 'pool' } });
    await untilReady('fast', 3);
    expect(agent.calls.filter((c) => c.startsWith('start'))).toHaveLength(1);
    // A new spec: the snapshot goes, the next VM boots from the new spec and is snapshotted.
    agent.calls.length = 0;
    await inject('PATCH', '/v1/pools/fast', { spec: { memoryMib: 256 } });
    expect(agent.calls).toContain(`delete-snapshot ${snap}`);
    expect((await inject('GET', `/v1/snapshots/${snap}`)).statusCode).toBe(404);
    const again = await untilReady('fast', 3);
    expect(again.snapshot).not.toBe(snap);
    expect(agent.calls.filter((c) => c.startsWith('start'))).toHaveLength(1);
    // Deleting the pool deletes its snapshot; the VM handed out stays.
    expect((await inject('DELETE', '/v1/pools/fast')).statusCode).toBe(200);
    expect(agent.calls).toContain(`delete-snapshot ${again.snapshot!}`);
    expect((await inject('GET', `/v1/snapshots/${again.snapshot!}`)).statusCode).toBe(404);
    expect((await inject('GET', `/v1/vms/${vm.id}`)).json()).toMatchObject({ state: 'running' });
  });
});
