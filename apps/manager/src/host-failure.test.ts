import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgentVmStatus, Host, Vm } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { until } from '../../../test/helpers/vm.ts';

// Host lifecycle without VMs booting: cordons, a host silent past the grace period (its VMs
// unknown, then reconciled when it speaks again), and a host declared dead (VMs restarted
// elsewhere or lost, and destroyed by its agent should it come back). The "agents" are heartbeats
// sent through the API and one small HTTP server standing in for the dead host's agent, which
// records the calls the manager makes to it.
describeOnBackends('host failure handling', (db) => {
  const api = useApiPlatform({ db, host: null, platform: { manager: { hostUnreachableMs: 3000 } } });
  const deletes: string[] = [];
  let agentStub: Server;
  let stubUrl = '';
  /** Hosts that heartbeat every half second, with the VMs they report. */
  const beating = new Map<string, Partial<AgentVmStatus>[]>();
  let beatTimer: NodeJS.Timeout | null = null;
  const tokens = new Map<string, { id: string; token: string }>();

  beforeAll(async () => {
    agentStub = createServer((req, res) => {
      const m = /^\/agent\/v1\/vms\/([^/?]+)$/.exec(req.url ?? '');
      if (req.method === 'DELETE' && m) deletes.push(m[1]!);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => agentStub.listen(0, '127.0.0.1', r));
    stubUrl = `http://127.0.0.1:${(agentStub.address() as AddressInfo).port}`;
    beatTimer = setInterval(() => {
      for (const [name, vms] of beating) void beat(name, vms);
    }, 500);
  });
  afterAll(async () => {
    if (beatTimer) clearInterval(beatTimer);
    await new Promise((r) => agentStub?.close(r));
  });

  const register = async (name: string, url = 'http://127.0.0.1:9') => {
    const r = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
      payload: { name, url, callbackToken: 'x'.repeat(32), inventory: fakeInventory },
    });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json() as { host: Host; agentToken: string };
    tokens.set(name, { id: body.host.id, token: body.agentToken });
    return body.host;
  };
  const beat = (name: string, vms: Partial<AgentVmStatus>[]) => {
    const t = tokens.get(name)!;
    const full = vms.map((v) => ({
      reason: null,
      pid: null,
      accel: 'tcg',
      startedAt: null,
      bootMs: null,
      ...v,
    }));
    return api.p.manager.app.inject({
      method: 'POST',
      url: `/v1/hosts/${t.id}/heartbeat`,
      headers: { authorization: `Bearer ${t.token}` },
      payload: { inventory: fakeInventory, vms: full },
    });
  };
  const host = async (name: string) =>
    (await api.inject({ method: 'GET', url: `/v1/hosts/${name}` })).json() as Host;
  const vm = async (id: string) => (await api.inject({ method: 'GET', url: `/v1/vms/${id}` })).json() as Vm;
  /** A VM recorded as running on `hostName` (no agent boots it: the record is set directly). */
  const runningVm = async (name: string, hostName: string, restartPolicy?: 'always' | 'no') => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { name, start: false, host: hostName, ...(restartPolicy ? { restartPolicy } : {}) },
    });
    expect(r.statusCode, r.body).toBe(201);
    const id = (r.json() as Vm).id;
    await api.p.manager.db.query(
      `UPDATE vms SET state = 'running', desired_state = 'running', pid = 4242 WHERE id = $1`,
      [id],
    );
    return id;
  };

  it('cordon keeps new VMs off a host; uncordon lets them back', async () => {
    await register('cordon-a');
    beating.set('cordon-a', []);
    try {
      const c = await api.inject({ method: 'POST', url: '/v1/hosts/cordon-a/cordon' });
      expect(c.statusCode, c.body).toBe(200);
      expect(c.json()).toMatchObject({ name: 'cordon-a', cordoned: true });
      const refused = await api.inject({
        method: 'POST',
        url: '/v1/vms',
        payload: { name: 'nowhere', start: false, host: 'cordon-a' },
      });
      expect(refused.statusCode, refused.body).toBeGreaterThanOrEqual(400);
      expect(refused.json().error.code).toBe('NO_HOST_AVAILABLE');
      const u = await api.inject({ method: 'POST', url: '/v1/hosts/cordon-a/uncordon' });
      expect(u.json()).toMatchObject({ cordoned: false });
      const ok = await api.inject({
        method: 'POST',
        url: '/v1/vms',
        payload: { name: 'somewhere', start: false, host: 'cordon-a' },
      });
      expect(ok.statusCode, ok.body).toBe(201);
    } finally {
      beating.delete('cordon-a');
    }
  });

  it('a silent host becomes unreachable after the grace period, its VMs unknown; its return reconciles them', async () => {
    await register('quiet-a');
    await register('loud-b');
    beating.set('loud-b', []);
    try {
      const x = await runningVm('qa-x', 'quiet-a');
      const y = await runningVm('qa-y', 'quiet-a');
      const z = await runningVm('lb-z', 'loud-b');
      beating.set('loud-b', [{ id: z, phase: 'running', pid: 4242 }]);
      await until(
        'quiet-a becomes unreachable',
        async () => (await host('quiet-a')).state === 'unreachable',
        60_000,
      );
      // The host's state changes first, then each of its VMs'.
      for (const id of [x, y])
        await until('its VMs become unknown', async () => (await vm(id)).state === 'unknown', 30_000);
      expect((await vm(x)).stateReason).toMatch(/quiet-a has not been heard from/);
      // The host that heartbeats within the grace period is left alone, and so are its VMs.
      expect((await host('loud-b')).state).toBe('ready');
      expect((await vm(z)).state).toBe('running');
      const events = (await api.inject({ method: 'GET', url: `/v1/vms/${x}/events` })).json();
      expect(events.items.at(-1)).toMatchObject({ from: 'running', to: 'unknown' });

      // It speaks again (heartbeats): x is still running there, y is gone from it.
      beating.set('quiet-a', [{ id: x, phase: 'running', pid: 4242 }]);
      await until('x is reconciled to running', async () => (await vm(x)).state === 'running', 30_000);
      await until('y is reconciled to failed', async () => (await vm(y)).state === 'failed', 30_000);
      expect((await host('quiet-a')).state).toBe('ready');
      expect((await vm(y)).stateReason).toMatch(/no longer has this VM/);
    } finally {
      beating.delete('loud-b');
      beating.delete('quiet-a');
    }
  });

  it('declare-dead restarts `always` VMs elsewhere, marks the rest lost, and fences the host when it returns', async () => {
    await register('dead-a', stubUrl);
    await register('live-b');
    beating.set('live-b', []);
    // Only live-b may take a restarted VM.
    for (const other of ['cordon-a', 'quiet-a'])
      await api.inject({ method: 'POST', url: `/v1/hosts/${other}/cordon` });
    try {
      const keep = await runningVm('keep', 'dead-a', 'always');
      const drop = await runningVm('drop', 'dead-a');
      // A heartbeating host is not dead.
      const refused = await api.inject({ method: 'POST', url: '/v1/hosts/live-b/declare-dead' });
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error.code).toBe('HOST_REACHABLE');

      await until(
        'dead-a becomes unreachable',
        async () => (await host('dead-a')).state === 'unreachable',
        60_000,
      );
      const d = await api.inject({ method: 'POST', url: '/v1/hosts/dead-a/declare-dead' });
      expect(d.statusCode, d.body).toBe(200);
      const b = await host('live-b');
      expect(d.json()).toMatchObject({
        name: 'dead-a',
        restarted: [{ vm: keep, host: b.id, from: 'image' }],
        lost: [{ vm: drop, reason: expect.stringMatching(/declared dead.*restart policy is "no"/) }],
      });
      const a = await host('dead-a');
      expect(a).toMatchObject({ state: 'dead', cordoned: true });
      expect(a.deadAt).not.toBeNull();
      const kept = await vm(keep);
      expect(kept.host).toBe(b.id);
      expect(kept.restartPolicy).toBe('always');
      expect(kept.stateReason).toMatch(/from its image.*disk starts afresh/);
      expect(await vm(drop)).toMatchObject({ state: 'lost', host: null });
      expect(await api.count('host_fences')).toBe(2);

      // Its agent comes back with both VMs still there: it is told to destroy them.
      const r = await beat('dead-a', [
        { id: keep, phase: 'running', pid: 4242 },
        { id: drop, phase: 'running', pid: 4243 },
      ]);
      expect(r.statusCode, r.body).toBe(200);
      await until('both VMs are destroyed on the returning host', async () => deletes.length >= 2, 30_000);
      expect([...deletes].sort()).toEqual([keep, drop].sort());
      // The records are not touched by what the returning host reports.
      expect((await vm(keep)).host).toBe(b.id);
      expect((await vm(drop)).state).toBe('lost');
      expect(await host('dead-a')).toMatchObject({ state: 'ready', cordoned: true, deadAt: null });
      // Once its agent no longer has them, the fences go.
      await beat('dead-a', []);
      expect(await api.count('host_fences')).toBe(0);
    } finally {
      beating.delete('live-b');
    }
  });

  it('declare-dead restarts an `always` VM from its latest snapshot on a live host, never one on the dead host', async () => {
    await register('dead-s');
    await register('live-s');
    beating.set('live-s', []);
    try {
      const id = await runningVm('from-snap', 'dead-s', 'always');
      // Snapshot files live on the host that took them: one taken before the VM moved to dead-s
      // (a migration leaves it behind) is on live-s, a newer one on dead-s dies with it.
      const snapshot = (sid: string, hostName: string, age: string) =>
        api.p.manager.db.query(
          `INSERT INTO snapshots (id, name, project, vm_id, vm_name, host_id, state, vmm, kind,
             kernel_id, kernel_sha256, image_id, image_sha256, vcpus, memory_mib, disk_mib, created_at)
           SELECT $1, $1, project, id, name, (SELECT id FROM hosts WHERE name = $2), 'ready', 'qemu',
             'memory', kernel_id, '', image_id, '', vcpus, memory_mib, disk_mib, now() - $3::interval
           FROM vms WHERE id = $4`,
          [sid, hostName, age, id],
        );
      await snapshot('snap_on_live', 'live-s', '2 hours');
      await snapshot('snap_on_dead', 'dead-s', '1 hour');
      await until(
        'dead-s becomes unreachable',
        async () => (await host('dead-s')).state === 'unreachable',
        60_000,
      );
      const d = await api.inject({ method: 'POST', url: '/v1/hosts/dead-s/declare-dead' });
      expect(d.statusCode, d.body).toBe(200);
      const live = await host('live-s');
      expect(d.json()).toMatchObject({ restarted: [{ vm: id, host: live.id, from: 'snapshot' }], lost: [] });
      expect((await vm(id)).host).toBe(live.id);
      // The move to `starting` names the snapshot it restores (a manager restart re-drives it so).
      const events = (await api.inject({ method: 'GET', url: `/v1/vms/${id}/events?limit=100` })).json() as {
        items: { to: string; reason: string | null }[];
      };
      expect(events.items.find((e) => e.to === 'starting')?.reason).toBe(
        'restoring snapshot snap_on_live: host dead-s was declared dead; restarted from its latest snapshot on a live host',
      );
    } finally {
      beating.delete('live-s');
    }
  });
});
