import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, testPgUrl } from '../../../../test/helpers/pg.ts';
import { openDb, type Db } from '../db/index.ts';
import { makeStores, type Stores } from './index.ts';
import { testImage, testVm } from './test-rows.ts';
import { vmPatchColumns, type NewVm } from './vms.ts';

// The shared lookup skeleton and the VM store's guarded writes, on both backends.
describe.each(['pglite', 'postgres'] as const)('VM store on %s', (kind) => {
  let db: Db;
  let s: Stores;
  let vm: (id: string, name: string, project?: string) => NewVm;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    let url: string | null = null;
    if (kind === 'postgres') {
      const base = testPgUrl();
      if (!base) throw new Error('HEARTH_TEST_PG_URL is not set: run this file through scripts/with-pg.sh');
      const fresh = await freshDatabase(base);
      cleanup.push(fresh.drop);
      url = fresh.url;
    }
    db = await openDb({ url, pgliteDir: null });
    cleanup.push(() => db.close());
    s = makeStores(db);
    const host = await s.hosts.upsert('h1', 'http://127.0.0.1:1', 't', { cpus: 2 } as never);
    const img = await s.images.insert(testImage({ sizeBytes: 5_000_000_000 }));
    vm = (id, name, project = 'default') => testVm(id, img.id, host.id, { name, project });
    // "b" names the VM vm_c in two projects, and is also the id of another VM.
    await s.vms.insert(vm('vm_a', 'a'));
    await s.vms.insert(vm('vm_c', 'b', 'other'));
    await s.vms.insert(vm('vm_d', 'b'));
    await s.vms.insert(vm('b', 'e'));
  });
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  it('finds by id or name only inside the project asked for, an id match first', async () => {
    expect((await s.vms.get('b', 'default'))?.id).toBe('b');
    expect((await s.vms.get('a', 'default'))?.id).toBe('vm_a');
    // Neither an id nor a name crosses projects.
    expect((await s.vms.get('vm_a', 'nope'))?.id).toBeUndefined();
    expect((await s.vms.get('vm_a', 'other'))?.id).toBeUndefined();
    expect((await s.vms.get('e', 'other'))?.id).toBeUndefined();
    expect((await s.vms.get('b', 'other'))?.id).toBe('vm_c');
    expect((await s.vms.getUnscoped('vm_c'))?.project).toBe('other');
    expect(await s.vms.getUnscoped('c')).toBeNull();
    await expect(s.vms.require('zzz', 'default')).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
    await expect(s.vms.require('vm_c', 'default')).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
  });

  it('reads rows with the types the mappers expect', async () => {
    const r = (await s.vms.get('vm_a', 'default'))!;
    expect(r.created_at).toBeInstanceOf(Date);
    expect(r.env).toEqual({});
    expect(r.ports).toEqual([]);
    const img = (await s.images.get('img', 'default'))!;
    expect(img.size_bytes).toBe(5_000_000_000);
    // A global image names the asking project's VMs only; internal reads see every one.
    expect(img.used_by).toEqual(['b', 'vm_a', 'vm_d']);
    expect((await s.images.getUnscoped(img.id))!.used_by).toEqual(['b', 'vm_a', 'vm_c', 'vm_d']);
    const host = (await s.hosts.get('h1'))!;
    expect([host.vm_count, host.alloc_vcpus]).toEqual([4, 0]);
  });

  it('pages in id order with filters and a cursor', async () => {
    const first = await s.vms.list({ project: 'default', limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual(['b', 'vm_a']);
    const rest = await s.vms.list({ project: 'default', limit: 2, cursor: first.nextCursor! });
    expect(rest.items.map((r) => r.id)).toEqual(['vm_d']);
    expect(rest.nextCursor).toBeNull();
    expect((await s.vms.list({ limit: 10, project: 'other' })).items.map((r) => r.id)).toEqual(['vm_c']);
    expect((await s.vms.list({ project: 'default', limit: 10, name: 'b' })).items.map((r) => r.id)).toEqual([
      'vm_d',
    ]);
    expect((await s.vms.list({ project: 'default', limit: 10, name: '_' })).items).toEqual([]);
  });

  it('moves state only from the expected state, with one event row', async () => {
    const moved = await s.vms.transition('vm_a', 'created', 'stopped', 'test', { reason: 'r' });
    expect(moved?.vm.state).toBe('stopped');
    expect(moved?.event).toMatchObject({ from_state: 'created', to_state: 'stopped', reason: 'r' });
    expect(await s.vms.transition('vm_a', 'created', 'running', 'test')).toBeNull();
    const events = await s.vms.events('vm_a', 10);
    expect(events.items.map((e) => e.to_state)).toEqual(['stopped']);
    expect(typeof events.items[0]!.seq).toBe('number');
  });

  it('patches typed fields, guarded by state, and names the columns it changed', async () => {
    const p = { memoryMib: 256, labels: { x: 'y' }, egress: null };
    expect(vmPatchColumns(p)).toEqual(['memory_mib', 'labels', 'egress']);
    expect(await s.vms.patch('vm_d', p, ['running'])).toBeNull();
    const r = await s.vms.patch('vm_d', p, ['created']);
    expect(r).toMatchObject({ memory_mib: 256, labels: { x: 'y' }, egress: null });
    expect(r!.updated_at.getTime()).toBeGreaterThanOrEqual(r!.created_at.getTime());
  });

  it('reads computed columns of the other stores from their own row', async () => {
    const base = (await s.vms.get('vm_a', 'default'))!;
    const snap = (id: string, parent: string | null) =>
      s.snapshots.insert({
        ...base,
        id,
        name: id,
        vm_id: base.id,
        vm_name: base.name,
        host_id: base.host_id!,
        parent_id: parent,
        vmm: 'qemu',
        kernel_sha256: 'k',
        image_sha256: 'i',
        guest: { secret: 's', users: [] },
      });
    await snap('snap_1', null);
    await snap('snap_2', 'snap_1');
    await snap('snap_3', 'snap_gone');
    expect((await s.snapshots.require('snap_1', 'default')).children).toEqual(['snap_2']);
    expect((await s.snapshots.require('snap_2', 'default')).children).toBeNull();
    expect((await s.snapshots.require('snap_3', 'default')).parent_id).toBeNull();
    const net = await s.networks.insert({
      id: 'net_1',
      name: 'n1',
      mode: 'isolated',
      cidr: '10.9.0.0/24',
      gateway: null,
      dns: [],
      iface: null,
      vlan: null,
      vni: null,
      port: null,
      bridge: 'hbrtest',
      is_default: false,
    });
    await s.networks.setNics(
      'vm_a',
      [{ vm_id: 'vm_a', idx: 0, network_id: net.id, mac: 'm1', ip: null, source: 'dhcp' }],
      [],
    );
    await s.networks.learnIp('vm_a', 0, '10.9.0.5');
    expect((await s.networks.require('n1', 'default')).vm_count).toBe(1);
    expect((await s.vms.get('vm_a', 'default'))?.nics).toEqual([
      { network: 'net_1', networkName: 'n1', mac: 'm1', ip: '10.9.0.5' },
    ]);
    await expect(s.images.deleteUnused((await s.images.require('img', 'default')).id)).resolves.toBe(false);
  });

  it('switches a VM and the snapshots carried with it to the new host together', async () => {
    const h2 = await s.hosts.upsert('h2', 'http://127.0.0.1:2', 't', { cpus: 2 } as never);
    const before = (await s.snapshots.ofVm('vm_a')).map((x) => [x.id, x.host_id]);
    expect(before.map((x) => x[0])).toEqual(['snap_1', 'snap_2', 'snap_3']);
    const m = {
      from: 'x',
      to: h2.id,
      mode: 'cold',
      downtimeMs: null,
      qemuDowntimeMs: null,
      totalMs: 1,
      at: '',
    };
    const moved = await s.vms.moveHost('vm_a', h2.id, m as never, undefined, ['snap_1', 'snap_3']);
    expect(moved?.host_id).toBe(h2.id);
    expect((await s.snapshots.ofVm('vm_a')).map((x) => [x.id, x.host_id])).toEqual([
      ['snap_1', h2.id],
      ['snap_2', before[1]![1]],
      ['snap_3', h2.id],
    ]);
  });
  it('keeps the pool a VM was handed out from through later boot profiles, and adds none otherwise', async () => {
    await s.vms.insert(vm('vm_p', 'p'));
    await s.vms.insert(vm('vm_q', 'q'));
    const profile = (source: 'pool' | 'restart', pool: string | null) => ({
      source,
      pool,
      steps: [{ name: 'launch', ms: 1 }],
      totalMs: 1,
      at: new Date().toISOString(),
    });
    const start = async (id: string, p: ReturnType<typeof profile>) => {
      await s.vms.transition(id, (await s.vms.getUnscoped(id))!.state as never, 'starting', 'test');
      const r = await s.vms.transition(id, 'starting', 'running', 'test', { bootProfile: p as never });
      await s.vms.transition(id, 'running', 'stopped', 'test');
      return r!.vm.boot_profile as { source: string; pool: string | null } | null;
    };
    expect(await start('vm_p', profile('pool', 'warm'))).toMatchObject({ source: 'pool', pool: 'warm' });
    // A restart's profile names no pool: the hand-out's stays, twice over.
    expect(await start('vm_p', profile('restart', null))).toMatchObject({ source: 'restart', pool: 'warm' });
    expect(await start('vm_p', profile('restart', null))).toMatchObject({ source: 'restart', pool: 'warm' });
    // A VM never handed out keeps a null pool.
    expect(await start('vm_q', profile('restart', null))).toMatchObject({ source: 'restart', pool: null });
    expect(await start('vm_q', profile('restart', null))).toMatchObject({ source: 'restart', pool: null });
  });
  it('reads for a heartbeat the VMs it reported and those not at rest, never the resting rest', async () => {
    const h3 = await s.hosts.upsert('h3', 'http://127.0.0.1:3', 't', { cpus: 2 } as never);
    const on3 = (id: string, state: string) =>
      s.vms.insert({ ...vm(id, id), hostId: h3.id, state: state as never });
    await on3('vm_r1', 'created');
    await on3('vm_r2', 'stopped');
    await on3('vm_r3', 'failed');
    await on3('vm_r4', 'running');
    await on3('vm_r5', 'deleting');
    await on3('vm_r6', 'starting');
    const resting = ['created', 'stopped', 'failed'] as const;
    const ids = async (reported: string[]) =>
      (await s.vms.toReconcile(h3.id, reported, resting)).map((r) => r.id).sort();
    expect(await ids([])).toEqual(['vm_r4', 'vm_r5', 'vm_r6']);
    // A reported VM is read whatever its state; another host's VM never is.
    expect(await ids(['vm_r2', 'vm_a'])).toEqual(['vm_r2', 'vm_r4', 'vm_r5', 'vm_r6']);
    const rows = await s.vms.toReconcile(h3.id, [], resting);
    expect(typeof rows[0]!.age_ms).toBe('number');
    expect((await s.vms.onHost(h3.id)).length).toBe(6);
  });
  it('reads for the timeout sweep only running VMs whose stop time passed', async () => {
    const past = new Date(Date.now() - 60_000);
    const later = new Date(Date.now() + 3_600_000);
    for (const [id, state, stopAt] of [
      ['vm_t1', 'running', past],
      ['vm_t2', 'running', later],
      ['vm_t3', 'stopped', past],
      ['vm_t4', 'running', null],
    ] as const) {
      await s.vms.insert({ ...vm(id, id), state });
      await db.query('UPDATE vms SET stop_at = $1 WHERE id = $2', [stopAt?.toISOString() ?? null, id]);
    }
    const ids = (await s.vms.expiredRunning()).map((r) => r.id).filter((id) => id.startsWith('vm_t'));
    expect(ids).toEqual(['vm_t1']);
  });
});
