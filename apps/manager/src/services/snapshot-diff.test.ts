import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type AgentVmSpec } from '@hearth/contract';
import { openDb, type Db } from '../db/index.ts';
import type { HostRow } from '../store/mappers.ts';
import { makeStores, type Stores } from '../store/index.ts';
import { testImage, testVm } from '../store/test-rows.ts';
import { AgentClient } from './agent-client.ts';
import { HostLiveness } from './host-liveness.ts';
import { Quotas } from './quotas.ts';
import { SnapshotService, type SnapshotServiceDeps } from './snapshot-service.ts';
import type { VmContext } from './vms/context.ts';
import {
  calls,
  CHECKER_ENV,
  checker,
  closeSides,
  makeSide,
  specOf,
  standinFirecracker,
  type Side,
} from './vms/fake-fc-hosts.ts';
import { carriedMib } from './vms/move-snapshots.ts';

// Diff snapshots through the manager's snapshot service, on PGlite, against a real agent
// (Supervisor and HTTP API) whose Firecracker is the API checker's stand-in with dirty-page
// tracking on: no guest runs, every Firecracker call is checked against its spec and call order.
// The merge itself is proven byte for byte in packages/firecracker/src/snapshot-diff.test.ts.

const log = pino({ level: 'silent' });
const live = new HostLiveness();
const agents = new AgentClient(live, 0);
const VM = 'vm_fcdiff';
let dir: string;
let kernel: string;
let rootfs: string;
let side: Side;
let db: Db;
let s: Stores;
let host: HostRow;
let svc: SnapshotService;
let fcLog: string;

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as HearthError,
  );
const onHost = async () => (await readdir(join(side.dataDir, 'snapshots')).catch(() => [])).sort();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-fcdiff-'));
  const binary = await standinFirecracker(dir);
  kernel = join(dir, 'vmlinux');
  await writeFile(kernel, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]));
  rootfs = join(dir, 'rootfs.ext4');
  await writeFile(rootfs, Buffer.concat([Buffer.from('rootfs of the test'), Buffer.alloc(1 << 20)]));
  side = await makeSide(dir, 'fc', binary, live, { trackDirtyPages: true });
  db = await openDb({ url: null, pgliteDir: null });
  s = makeStores(db);
  host = await s.hosts.upsert('fc', side.host.url, side.host.callback_token, { cpus: 2 } as never);
  live.seen(host);
  const img = await s.images.insert(testImage({ path: rootfs }));
  for (const [id, vmm] of [
    [VM, 'firecracker'],
    ['vm_qemu', 'qemu'],
  ] as const) {
    await s.vms.insert(
      testVm(id, img.id, host.id, {
        name: id.replace('_', '-'),
        state: 'running',
        desiredState: 'running',
        memoryMib: 64,
        diskMib: 1,
        vmm,
      }),
    );
  }
  const deps = { stores: s, agents, vms: {} as never, log, quotas: new Quotas(db) } as SnapshotServiceDeps;
  svc = new SnapshotService(deps);
  fcLog = join(dir, 'fc.jsonl');
  checker(fcLog);
  const st = await side.sup.start(specOf(VM, kernel, rootfs));
  expect(st.phase, st.reason ?? '').toBe('running');
});

afterAll(async () => {
  await closeSides([side]);
  for (const k of CHECKER_ENV) delete process.env[k];
  await db?.close();
  live.dispose();
  await agents.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('diff snapshots through the manager, firecracker (API checker)', () => {
  const ids: Record<'full' | 'd1' | 'd2', string> = { full: '', d1: '', d2: '' };

  it('refuses a diff with nothing to build on (422, the reason), keeping no record and no files', async () => {
    const e = await failure(svc.create(VM, 'default', { type: 'diff', name: 'too-early' }, 'test'));
    expect(e.code).toBe('SNAPSHOT_TYPE_UNSUPPORTED');
    expect(e.status).toBe(422);
    expect(e.message).toContain('take a full snapshot first');
    expect(e.detail).toMatchObject({ vmm: 'firecracker', type: 'diff' });
    expect(await s.snapshots.ofVm(VM)).toEqual([]);
    expect(await onHost()).toEqual([]);
  });

  it('records each diff with the snapshot it builds on: full ← diff ← diff', async () => {
    const full = await svc.create(VM, 'default', { name: 'base' }, 'test');
    expect(full).toMatchObject({ type: 'full', base: null, state: 'ready' });
    const d1 = await svc.create(VM, 'default', { type: 'diff', name: 'd1' }, 'test');
    expect(d1).toMatchObject({ type: 'diff', base: full.id, state: 'ready', vmm: 'firecracker' });
    const d2 = await svc.create(VM, 'default', { type: 'diff', name: 'd2' }, 'test');
    expect(d2).toMatchObject({ type: 'diff', base: d1.id });
    Object.assign(ids, { full: full.id, d1: d1.id, d2: d2.id });
    // What Firecracker was asked: one Full, then two Diffs, each while paused.
    const creates = (await calls(fcLog))
      .filter((c) => c.path === '/snapshot/create')
      .map((c) => `${(c.body as { snapshot_type: string }).snapshot_type} ${c.status}`);
    expect(creates).toEqual(['Full 204', 'Diff 204', 'Diff 204']);
    expect(await onHost()).toEqual([full.id, d1.id, d2.id].sort());
    const events = (await s.vms.events(VM, 50)).items.map((e) => e.reason);
    expect(events).toContain(`diff snapshot d1 (${d1.id}) taken on top of ${full.id}`);
  });

  it('refuses deleting a snapshot a diff builds on (409 SNAPSHOT_IN_USE naming the diff); its files stay', async () => {
    for (const [base, name, dependent, depName] of [
      [ids.full, 'base', ids.d1, 'd1'],
      [ids.d1, 'd1', ids.d2, 'd2'],
    ] as const) {
      const e = await failure(svc.delete(base, 'default'));
      expect(e.code).toBe('SNAPSHOT_IN_USE');
      expect(e.status).toBe(409);
      expect(e.detail).toEqual({ dependents: [dependent] });
      // The manager's refusal, by the records (names the user gave), before asking the host.
      expect(e.message).toContain(
        `Deleting snapshot ${name} failed: the diff snapshot ${depName} (${dependent})`,
      );
    }
    expect(await onHost()).toEqual([ids.full, ids.d1, ids.d2].sort());
    expect((await s.snapshots.ofVm(VM)).map((r) => r.id).sort()).toEqual([ids.full, ids.d1, ids.d2].sort());
  });

  it('restores the last diff of the chain the records name (a clone on its host)', async () => {
    const cloneLog = join(dir, 'clone.jsonl');
    checker(cloneLog);
    const spec: AgentVmSpec = specOf('vm_fcclone', kernel, rootfs);
    const st = await agents.restore(host, spec, ids.d2);
    expect(st.phase, st.reason ?? '').toBe('running');
    const load = (await calls(cloneLog)).find((c) => c.path === '/snapshot/load');
    expect(load?.status).toBe(204);
    await side.sup.delete('vm_fcclone');
  });

  it('keeps a VM with diffs on its host: a move refuses to carry them (MIGRATION_UNSUPPORTED)', async () => {
    const ctx = { stores: s } as unknown as VmContext;
    const row = await s.vms.require(VM, 'default');
    for (const id of [ids.full, ids.d2]) {
      const e = await failure(carriedMib(ctx, row, [id]));
      expect(e.code).toBe('MIGRATION_UNSUPPORTED');
      expect(e.message).toMatch(/diff snapshots \((d1|d2)\)/);
    }
  });

  it('refuses a diff whose base the records do not know (a move or import made it); its files go', async () => {
    // A snapshot taken on the host without a record, as a move or an import leaves behind.
    await agents.snapshot(host, VM, 'snap_unrecorded');
    const e = await failure(svc.create(VM, 'default', { type: 'diff', name: 'orphan' }, 'test'));
    expect(e.code).toBe('SNAPSHOT_TYPE_UNSUPPORTED');
    expect(e.message).toContain('its last snapshot (snap_unrecorded) is not a snapshot of this project');
    expect(await onHost()).toEqual([ids.full, ids.d1, ids.d2, 'snap_unrecorded'].sort());
    expect((await s.snapshots.ofVm(VM)).length).toBe(3);
    await agents.deleteSnapshot(host, 'snap_unrecorded');
  });

  it('refuses a diff on QEMU and a disk-only diff before recording anything', async () => {
    const qemu = await failure(svc.create('vm_qemu', 'default', { type: 'diff' }, 'test'));
    expect(qemu).toMatchObject({ code: 'SNAPSHOT_TYPE_UNSUPPORTED', detail: { vmm: 'qemu' } });
    const disk = await failure(svc.create(VM, 'default', { type: 'diff', kind: 'disk' }, 'test'));
    expect(disk.code).toBe('SNAPSHOT_TYPE_UNSUPPORTED');
    expect(disk.message).toContain('a disk-only snapshot cannot be a diff');
    expect((await s.snapshots.ofVm(VM)).length).toBe(3);
  });

  it('deletes newest first down to the full one: records and files go', async () => {
    for (const id of [ids.d2, ids.d1, ids.full]) await svc.delete(id, 'default');
    expect(await s.snapshots.ofVm(VM)).toEqual([]);
    expect(await onHost()).toEqual([]);
  });
});
