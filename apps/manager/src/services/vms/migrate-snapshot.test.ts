import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentVmSpec, LastMigration } from '@hearth/contract';
import { runDirPaths } from '@hearth/vmm';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import { AgentClient } from '../agent-client.ts';
import { HostLiveness } from '../host-liveness.ts';
import type { VmContext } from './context.ts';
import { moveSnapshot } from './migrate-snapshot.ts';
import { migrateVm } from './migrate.ts';
import {
  afterBoot,
  calls,
  CHECKER_ENV,
  checker,
  closeSides,
  makeSide,
  specOf,
  standinFirecracker,
  type Side,
} from './fake-fc-hosts.ts';

// For migrateVm only: the destination is the one asked for, the agent spec is the VM's own, and
// the record is answered as stored (no database here).
const mocked = vi.hoisted(() => ({ spec: null as unknown, to: null as unknown }));
vi.mock('../scheduler.ts', async (orig) => ({
  ...(await orig<typeof import('../scheduler.ts')>()),
  placeVm: () => ({ host: mocked.to }),
}));
vi.mock('./placement.ts', async (orig) => ({
  ...(await orig<typeof import('./placement.ts')>()),
  constraintsOf: async () => ({}),
}));
vi.mock('./agent-spec.ts', () => ({ agentSpecFor: async () => mocked.spec }));
vi.mock('../../store/mappers.ts', async (orig) => ({
  ...(await orig<typeof import('../../store/mappers.ts')>()),
  vmFromRow: (r: unknown) => r,
}));

// Two real agents (Supervisor and HTTP API) on this machine, each driving Firecracker through the
// contract checker's stand-in binary (packages/firecracker/test-support): no guest runs, but every
// API call is checked against Firecracker's spec and call-order rules, and logged per process.
// The manager's side of the move runs as in migrateVm, over the real agent client.

const log = pino({ level: 'silent' });

let dir: string;
let binary: string;
let kernel: string;
let rootfs: string;
let src: Side;
let dst: Side;
const live = new HostLiveness();
const agents = new AgentClient(live, 0);
const pids = new Set<number>();

/** A running Firecracker VM on the source, its checker calls logged to its own file. */
async function running(id: string, fail?: string): Promise<{ spec: AgentVmSpec; srcLog: string }> {
  const srcLog = join(dir, `${id}.source.jsonl`);
  checker(srcLog, fail);
  const spec = specOf(id, kernel, rootfs);
  const st = await src.sup.start(spec);
  expect(st.phase, st.reason ?? '').toBe('running');
  if (st.pid) pids.add(st.pid);
  return { spec, srcLog };
}

function contextWith(events: string[], client: AgentClient = agents): VmContext {
  return {
    agents: client,
    log,
    stores: {
      vms: {
        addEvent: async (_id: string, _type: string, _actor: string, text: string) => void events.push(text),
      },
    },
  } as unknown as VmContext;
}

const rowOf = (spec: AgentVmSpec) => ({ id: spec.id, name: spec.name }) as VmRow;
const gone = (path: string) =>
  stat(path).then(
    () => false,
    () => true,
  );
const moveDirs = (id: string) => [
  join(src.dataDir, 'snapshots', `migrate-out-${id}`),
  join(dst.dataDir, 'snapshots', `migrate-in-${id}`),
];

/** A failed move: the source resumed its guest, the destination holds nothing and runs nothing. */
async function assertStayed(spec: AgentVmSpec, srcLog: string): Promise<void> {
  const seq = await afterBoot(srcLog);
  expect(seq[0]).toBe('PATCH /vm {"state":"Paused"} 204');
  expect(seq.at(-1)).toBe('PATCH /vm {"state":"Resumed"} 204');
  expect(src.sup.status(spec.id).phase).toBe('running');
  expect(dst.sup.vmIds().has(spec.id)).toBe(false);
  expect(await gone(join(dst.dataDir, 'vms', spec.id))).toBe(true);
  for (const d of moveDirs(spec.id)) expect(await gone(d)).toBe(true);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-fcmig-'));
  binary = await standinFirecracker(dir);
  kernel = join(dir, 'vmlinux');
  await writeFile(kernel, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]));
  rootfs = join(dir, 'rootfs.ext4');
  await writeFile(rootfs, Buffer.concat([Buffer.from('rootfs of the test'), Buffer.alloc(1 << 20)]));
  src = await makeSide(dir, 'source', binary, live);
  dst = await makeSide(dir, 'dest', binary, live);
});

afterAll(async () => {
  await closeSides([src, dst], pids);
  for (const k of CHECKER_ENV) delete process.env[k];
  live.dispose();
  await agents.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('moving a running Firecracker VM by snapshot, firecracker (API checker)', () => {
  it('pauses, snapshots, copies the files, loads them in a fresh process there and resumes; the source copy goes', async () => {
    const { spec, srcLog } = await running('vm_fcmove');
    const dstLog = join(dir, 'vm_fcmove.dest.jsonl');
    checker(dstLog);
    const events: string[] = [];
    const r = await moveSnapshot(contextWith(events), rowOf(spec), spec, src.host, dst.host, 'test');

    // Source: paused first, then a full snapshot of the paused VM, and never resumed.
    const seq = await afterBoot(srcLog);
    expect(seq).toEqual(['PATCH /vm {"state":"Paused"} 204', 'PUT /snapshot/create 204']);
    const create = (await calls(srcLog)).find((c) => c.path === '/snapshot/create')!;
    expect(create.body).toMatchObject({ snapshot_type: 'Full' });

    // Destination: a fresh process whose first configuration call is the load, resuming the guest.
    const d = await calls(dstLog);
    expect(d.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'PUT /logger 204',
      'PUT /metrics 204',
      'PUT /snapshot/load 204',
      'PATCH /vm 204',
    ]);
    expect(d[2]!.body).toMatchObject({ resume_vm: true, mem_backend: { backend_type: 'File' } });
    expect(d[3]!.body).toEqual({ state: 'Resumed' });

    const there = dst.sup.status(spec.id);
    expect(there.phase).toBe('running');
    expect(r.pid).toBe(there.pid);
    if (there.pid) pids.add(there.pid);
    expect(typeof r.downtimeMs).toBe('number');
    expect(r.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(r.qemuDowntimeMs).toBeNull();
    // The disk arrived as the source had it (the snapshot's copy, through the sparse transfer).
    const disk = await readFile(runDirPaths(join(dst.dataDir, 'vms', spec.id)).disk);
    expect(disk.subarray(0, 18).toString()).toBe('rootfs of the test');
    for (const dd of moveDirs(spec.id)) expect(await gone(dd)).toBe(true);
    // The source keeps its paused copy until the manager, the record moved, deletes it.
    expect(src.sup.status(spec.id).phase).toBe('running');
    await agents.delete(src.host, spec.id);
    expect(src.sup.vmIds().has(spec.id)).toBe(false);

    expect(events[0]).toMatch(
      /^pausing and snapshotting \(not live: the guest stands still until it resumes on dest\)$/,
    );
    expect(events[1]).toMatch(/^transferring 0% \(\d+\.\d MiB in 5 files\)$/);
    expect(events.at(-2)).toBe('transferring 100%');
    expect(events.at(-1)).toBe('restoring on dest');
  });

  it('a failed snapshot create: the source resumes its guest, nothing reaches the destination', async () => {
    const { spec, srcLog } = await running('vm_fcsnapfail', 'PUT /snapshot/create');
    const dstLog = join(dir, 'vm_fcsnapfail.dest.jsonl');
    checker(dstLog);
    const events: string[] = [];
    const err = await moveSnapshot(contextWith(events), rowOf(spec), spec, src.host, dst.host, 'test').catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(
      /Snapshotting VM vm_fcsnapfail for the move failed: .*snapshot\/create/,
    );
    expect(await afterBoot(srcLog)).toEqual([
      'PATCH /vm {"state":"Paused"} 204',
      'PUT /snapshot/create 400',
      'PATCH /vm {"state":"Resumed"} 204',
    ]);
    await assertStayed(spec, srcLog);
    expect(await calls(dstLog)).toEqual([]);
  });

  it('a transfer that arrives corrupted (sha256 mismatch): the destination refuses it, the source resumes', async () => {
    const { spec, srcLog } = await running('vm_fcshafail');
    const dstLog = join(dir, 'vm_fcshafail.dest.jsonl');
    checker(dstLog);
    // One byte of the memory file flipped on its way, its announced sha256 unchanged.
    const tampering = new Proxy(agents, {
      get(target, prop, recv) {
        if (prop !== 'raw') return Reflect.get(target, prop, recv);
        return (
          host: HostRow,
          id: string,
          input: { params: { file?: string } },
          init: { body?: ReadableStream<Uint8Array> },
        ) => {
          if (id === 'migrateSnapshotReceive' && input.params.file === 'memory.snap' && init.body) {
            let flipped = false;
            init = {
              ...init,
              body: init.body.pipeThrough(
                new TransformStream<Uint8Array, Uint8Array>({
                  transform(chunk, out) {
                    const c = new Uint8Array(chunk);
                    if (!flipped && c.length > 20) {
                      c[c.length - 1]! ^= 0xff;
                      flipped = true;
                    }
                    out.enqueue(c);
                  },
                }),
              ),
            };
          }
          return target.raw(host, id as never, input as never, init as never);
        };
      },
    });
    const err = await moveSnapshot(
      contextWith([], tampering),
      rowOf(spec),
      spec,
      src.host,
      dst.host,
      'test',
    ).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /Receiving memory.snap of VM vm_fcshafail failed: it hashes to [0-9a-f]{64}, the source announced/,
    );
    expect(await afterBoot(srcLog)).toEqual([
      'PATCH /vm {"state":"Paused"} 204',
      'PUT /snapshot/create 204',
      'PATCH /vm {"state":"Resumed"} 204',
    ]);
    await assertStayed(spec, srcLog);
    expect(await calls(dstLog)).toEqual([]);
  });

  it('a failed load on the destination: its process and files go, then the source resumes', async () => {
    const { spec, srcLog } = await running('vm_fcloadfail');
    const dstLog = join(dir, 'vm_fcloadfail.dest.jsonl');
    checker(dstLog, 'PUT /snapshot/load');
    const events: string[] = [];
    const err = await moveSnapshot(contextWith(events), rowOf(spec), spec, src.host, dst.host, 'test').catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(
      /Restoring VM vm_fcloadfail on this host failed: .*snapshot\/load/,
    );
    expect((await calls(dstLog)).map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'PUT /logger 204',
      'PUT /metrics 204',
      'PUT /snapshot/load 400',
    ]);
    expect(await afterBoot(srcLog)).toEqual([
      'PATCH /vm {"state":"Paused"} 204',
      'PUT /snapshot/create 204',
      'PATCH /vm {"state":"Resumed"} 204',
    ]);
    await assertStayed(spec, srcLog);
    expect(events.at(-1)).toBe('restoring on dest');
  });

  it('migrateVm: a running Firecracker VM moves in mode snapshot, lastMigration and events recorded, the source copy deleted', async () => {
    const { spec } = await running('vm_fcflow');
    checker(join(dir, 'vm_fcflow.dest.jsonl'));
    mocked.spec = spec;
    mocked.to = dst.host;
    const row = {
      id: spec.id,
      name: spec.name,
      state: 'running',
      vmm: 'firecracker',
      host_id: src.host.id,
    } as VmRow;
    const events: string[] = [];
    let recorded: { hostId: string; m: LastMigration; pid: number | null | undefined } | null = null;
    const ctx = {
      agents,
      log,
      bus: { publish: () => undefined },
      operations: { hold: () => () => undefined },
      stores: {
        vms: {
          requireUnscoped: async () => row,
          addEvent: async (_id: string, _t: string, _a: string, text: string) => void events.push(text),
          moveHost: async (_id: string, hostId: string, m: LastMigration, pid?: number | null) => {
            recorded = { hostId, m, pid };
            return { ...row, host_id: hostId, last_migration: m };
          },
        },
        volumes: { forVm: async () => [] },
        // The move's record (kept for recovery) and the fences it checks: none here.
        moves: { begin: async () => undefined, phase: async () => undefined, end: async () => undefined },
        hostFailure: { fences: async () => [] },
        hosts: {
          requireForCall: async () => src.host,
          forPlacement: async () => [src.host, dst.host],
          get: async () => dst.host,
        },
      },
    } as unknown as VmContext;
    const vm = (await migrateVm(ctx, spec.id, null, 'admin', 'dest')) as unknown as VmRow;
    expect(vm.host_id).toBe(dst.host.id);
    const r = recorded!;
    expect(r.hostId).toBe(dst.host.id);
    expect(r.m).toMatchObject({ from: src.host.id, to: dst.host.id, mode: 'snapshot', qemuDowntimeMs: null });
    expect(r.m.downtimeMs).toBeGreaterThanOrEqual(0);
    expect(r.m.totalMs).toBeGreaterThanOrEqual(r.m.downtimeMs!);
    const there = dst.sup.status(spec.id);
    expect(there.phase).toBe('running');
    expect(r.pid).toBe(there.pid);
    if (there.pid) pids.add(there.pid);
    expect(src.sup.vmIds().has(spec.id)).toBe(false);
    expect(events[0]).toBe('preparing: snapshot move from source to dest');
    expect(events[1]).toMatch(/^pausing and snapshotting/);
    expect(events.some((e) => /^transferring \d+%/.test(e))).toBe(true);
    expect(events.at(-2)).toBe('restoring on dest');
    expect(events.at(-1)).toBe(
      `done: on dest (snapshot, downtime ${r.m.downtimeMs} ms, total ${r.m.totalMs} ms)`,
    );
  });
});
