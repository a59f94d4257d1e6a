import { expect, it, vi } from 'vitest';
import type { Host, HostInventory, Vm } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { until } from '../../../test/helpers/vm.ts';

interface Refusal {
  error: { code: string; message: string; hint: string; detail: { constraints: string[]; hosts: unknown[] } };
}

// Placement through the API, with hosts whose agents answer nothing: VMs are created without
// being started (`start: false`), which is all placement needs. The manager packs by default and
// promises half of a host's memory unless the host says otherwise, to show both settings apply.
describeOnBackends('placement through the API', (db) => {
  const api = useApiPlatform({
    db,
    host: null,
    platform: { manager: { placement: { strategy: 'pack', memoryOvercommit: 0.5 } } },
  });

  const register = async (name: string, inv: Partial<HostInventory>, labels?: Record<string, string>) => {
    const r = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
      payload: {
        name,
        url: 'http://127.0.0.1:9',
        callbackToken: 'x'.repeat(32),
        inventory: { ...fakeInventory, ...inv },
        ...(labels ? { labels } : {}),
      },
    });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { host: Host; agentToken: string };
  };
  const create = (payload: Record<string, unknown>) =>
    api.inject({ method: 'POST', url: '/v1/vms', payload: { start: false, ...payload } });
  const hostOf = async (r: { statusCode: number; body: string; json: () => unknown }) => {
    expect(r.statusCode, r.body).toBe(201);
    const hosts = (await api.p.client.call('listHosts', { query: { limit: 100 } })).items;
    return hosts.find((h) => h.id === (r.json() as Vm).host)!.name;
  };
  const patch = (id: string, payload: unknown) =>
    api.inject({ method: 'PATCH', url: `/v1/hosts/${id}`, payload });

  it('takes labels from the agent at registration and from an administrator, keeping each other’s keys', async () => {
    // The fake hosts: roomy and small for the strategies, tight on disk for disk accounting.
    const big = await register('p-big', { memoryMib: 8192, memoryFreeMib: 4096 }, { pool: 'strategy' });
    await register('p-small', { memoryMib: 4096, memoryFreeMib: 4096 }, { pool: 'strategy' });
    await register('p-disk', { diskFreeMib: 5000 }, { pool: 'disk' });
    expect(big.host).toMatchObject({
      labels: { pool: 'strategy' },
      cpuOvercommit: null,
      memoryOvercommit: null,
    });

    const set = await patch('p-big', { labels: { tier: 'gold', rack: 'r1' } });
    expect(set.statusCode, set.body).toBe(200);
    expect((set.json() as Host).labels).toEqual({ pool: 'strategy', tier: 'gold', rack: 'r1' });
    const removed = await patch(big.host.id, { labels: { rack: null } });
    expect((removed.json() as Host).labels).toEqual({ pool: 'strategy', tier: 'gold' });
    // An empty change changes nothing (it was a 500 once); an unknown host is a 404.
    const empty = await patch('p-big', {});
    expect(empty.statusCode, empty.body).toBe(200);
    expect((empty.json() as Host).labels).toEqual({ pool: 'strategy', tier: 'gold' });
    expect((await patch('no-such-host', {})).statusCode).toBe(404);

    // The agent starts again with other labels: its keys are set, the administrator's stay.
    const again = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${big.agentToken}` },
      payload: {
        name: 'p-big',
        url: 'http://127.0.0.1:9',
        callbackToken: 'y'.repeat(32),
        inventory: { ...fakeInventory, memoryMib: 8192, memoryFreeMib: 4096 },
        labels: { pool: 'strategy', arch: 'x86' },
      },
    });
    expect(again.statusCode, again.body).toBe(200);
    const got = (await api.inject({ method: 'GET', url: '/v1/hosts/p-big' })).json() as Host;
    expect(got.labels).toEqual({ pool: 'strategy', tier: 'gold', arch: 'x86' });

    const bad = await patch('p-big', { labels: { 'Not A Key': 'x' }, cpuOvercommit: 0 });
    expect(bad.statusCode).toBe(400);
    expect((await patch('nope', { labels: { a: 'b' } })).statusCode).toBe(404);
  });

  it("places by the manager's strategy (pack here) unless the VM asks for another", async () => {
    const strategy = { hostSelector: { pool: 'strategy' } };
    expect(await hostOf(await create({ name: 'packed', ...strategy }))).toBe('p-small');
    expect(await hostOf(await create({ name: 'spread', ...strategy, placementStrategy: 'spread' }))).toBe(
      'p-big',
    );
  });

  it('places only where the host selector matches, and refuses with 409 NO_HOST_MATCHES saying why', async () => {
    const r = await create({ name: 'gold', hostSelector: { tier: 'gold' } });
    expect(await hostOf(r)).toBe('p-big');
    expect((r.json() as Vm).hostSelector).toEqual({ tier: 'gold' });

    const none = await create({ name: 'nowhere', hostSelector: { tier: 'platinum' } });
    expect(none.statusCode, none.body).toBe(409);
    const e = (none.json() as Refusal).error;
    expect(e.code).toBe('NO_HOST_MATCHES');
    expect(e.message).toBe(
      'Placing the VM failed: no host met: host selector tier=platinum (p-big has tier=gold; p-small has no tier; p-disk has no tier).',
    );
    expect(e.hint).toMatch(/hearth host label/);
    expect(e.detail.hosts).toHaveLength(3);
    const listed = await api.p.client.call('listVms', { query: { name: 'nowhere' } });
    expect(listed.items).toHaveLength(0);
  });

  it('keeps the members of an anti-affinity group apart, per project, and refuses a third on two hosts', async () => {
    const web = { hostSelector: { pool: 'strategy' }, antiAffinityGroup: 'web' };
    const first = await hostOf(await create({ name: 'web-1', ...web }));
    const second = await hostOf(await create({ name: 'web-2', ...web }));
    expect(new Set([first, second])).toEqual(new Set(['p-big', 'p-small']));
    const third = await create({ name: 'web-3', ...web });
    expect(third.statusCode, third.body).toBe(409);
    const e = (third.json() as Refusal).error;
    expect(e.code).toBe('NO_HOST_MATCHES');
    expect(e.message).toMatch(
      /, anti-affinity group web \(p-big holds web-[12]; p-small holds web-[12]\)\.$/,
    );
    expect(e.message).toMatch(/host selector pool=strategy \(p-disk has pool=disk\)/);

    // Another project's group of the same name is another group.
    const project = await api.inject({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'place-other' },
    });
    expect(project.statusCode, project.body).toBe(201);
    expect((await create({ name: 'web-1', project: 'place-other', ...web })).statusCode).toBe(201);
  });

  it('never puts two members on one host when creates that chose the same host race to insert', async () => {
    const race = { hostSelector: { pool: 'strategy' }, antiAffinityGroup: 'race' };
    const { hostPlacement, vms } = api.p.manager.stores;
    const groupHosts = hostPlacement.groupHosts.bind(hostPlacement);
    const insertCreated = vms.insertCreated.bind(vms);
    // The three creates' placement reads (outside any transaction) wait for each other: each sees
    // no member of the group, so all three choose the same host, and only the guard in the
    // insert's transaction can keep them apart. A loser is placed again with the winner counted.
    const firstReads: number[] = [];
    let placementReads = 0;
    let allRead!: () => void;
    const barrier = new Promise<void>((resolve) => (allRead = resolve));
    const reads = vi.spyOn(hostPlacement, 'groupHosts').mockImplementation(async (project, group, tx) => {
      const members = await groupHosts(project, group, tx);
      if (tx || group !== 'race') return members;
      placementReads++;
      if (placementReads <= 3) {
        firstReads.push(members.size);
        if (placementReads === 3) allRead();
        await barrier;
      }
      return members;
    });
    // On PostgreSQL the first insert's transaction stays open, its row written, until the other
    // creates queue behind it (or, were they not made to, insert beside it): the guard must hold
    // across connections, not only when transactions happen to run one after another (PGlite is
    // one connection, so there they do).
    let inserts = 0;
    const lockWaiters = async () =>
      (
        await api.p.manager.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      )[0]!.n;
    const writes = vi.spyOn(vms, 'insertCreated').mockImplementation(async (...args) => {
      const row = await insertCreated(...args);
      if (row.anti_affinity_group === 'race' && ++inserts === 1 && db === 'postgres') {
        await until(
          'the other creates queued behind the first',
          async () => inserts > 1 || (await lockWaiters()) >= 2,
        );
      }
      return row;
    });
    try {
      const answers = await Promise.all(
        ['race-1', 'race-2', 'race-3'].map((name) => create({ name, ...race })),
      );
      expect(firstReads).toEqual([0, 0, 0]);
      const placed = answers.filter((r) => r.statusCode === 201).map((r) => (r.json() as Vm).host);
      const refused = answers.filter((r) => r.statusCode !== 201);
      expect(placed, answers.map((r) => r.body).join('\n')).toHaveLength(2);
      expect(new Set(placed).size).toBe(2);
      expect(refused.map((r) => r.statusCode)).toEqual([409]);
      const e = (refused[0]!.json() as Refusal).error;
      expect(e.code).toBe('NO_HOST_MATCHES');
      expect(e.message).toMatch(/anti-affinity group race \(p-big holds race-\d; p-small holds race-\d\)\.$/);
      // Both losers were placed again after the guard refused them.
      expect(placementReads).toBeGreaterThanOrEqual(5);
      const rows = await api.p.manager.db.query<{ host_id: string }>(
        `SELECT host_id FROM vms WHERE anti_affinity_group = 'race'`,
      );
      expect(new Set(rows.map((r) => r.host_id)).size).toBe(2);
    } finally {
      reads.mockRestore();
      writes.mockRestore();
    }
  });

  it("applies the manager's memory overcommit unless the host has its own, and a host's CPU ratio", async () => {
    const disk = { hostSelector: { pool: 'disk' } };
    // (2048 available - 512 reserve) ×0.5 = 768 MiB: 1024 + 112 does not fit.
    const tight = await create({ name: 'mem-1', memoryMib: 1024, ...disk });
    expect(tight.statusCode, tight.body).toBe(503);
    const e = (tight.json() as Refusal).error;
    expect(e.code).toBe('NO_HOST_AVAILABLE');
    // The hosts the selector left out are named too; the one it chose lacks room: 503, not 409.
    expect(e.message).toBe(
      'Placing the VM failed: no host met: host selector pool=disk (p-big has pool=strategy; p-small has pool=strategy), memory (p-disk needs 1136 MiB (1024 guest + 112 VMM), 768 free ×0.5 (2048 available less a 512 reserve)).',
    );
    const ratio = await patch('p-disk', { memoryOvercommit: 1 });
    expect((ratio.json() as Host).memoryOvercommit).toBe(1);
    expect(await hostOf(await create({ name: 'mem-1', memoryMib: 1024, ...disk }))).toBe('p-disk');

    // 2 CPUs ×0.5: one vCPU may be promised, not two.
    await patch('p-disk', { cpuOvercommit: 0.5 });
    const cpu = await create({ name: 'cpu-2', vcpus: 2, ...disk });
    expect(cpu.statusCode, cpu.body).toBe(503);
    expect((cpu.json() as Refusal).error.message).toMatch(/cpu \(p-disk needs 2 vCPUs, 1 free of 2 ×0\.5\)/);
    await patch('p-disk', { cpuOvercommit: null });
    expect(await hostOf(await create({ name: 'cpu-2', vcpus: 2, ...disk }))).toBe('p-disk');
  });

  it('admits a disk against the free space less the reserve, showing what disks declared', async () => {
    await register('p-disk2', { diskFreeMib: 5000 }, { pool: 'disk2' });
    const disk = { hostSelector: { pool: 'disk2' }, diskGib: 1.5 };
    // 5000 - 2048 reserve = 2952 MiB: a 1536 MiB disk fits, twice (sparse disks use what they write,
    // which the host's free space counts); a 3 GiB one does not.
    expect(await hostOf(await create({ name: 'disk-1', ...disk }))).toBe('p-disk2');
    expect(await hostOf(await create({ name: 'disk-2', ...disk }))).toBe('p-disk2');
    const host = await api.p.client.call('getHost', { params: { id: 'p-disk2' } });
    expect(host.allocatedDiskMib).toBe(3072);
    const big = await create({ name: 'disk-3', hostSelector: { pool: 'disk2' }, diskGib: 3 });
    expect(big.statusCode, big.body).toBe(503);
    expect((big.json() as Refusal).error.message).toMatch(
      / disk \(p-disk2 needs 3072 MiB, 2952 free \(5000 on disk less a 2048 reserve; 3072 declared by its disks\)\)\.$/,
    );
  });
});
