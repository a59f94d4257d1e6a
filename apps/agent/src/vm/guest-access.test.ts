import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, FS_SYNC_FEATURE, type AgentVmSpec } from '@hearth/contract';
import { encodeFrame } from '@hearth/contract/guest-codec';
import type { VmmExit, VmmInstance } from '@hearth/vmm';
import { connectToFake, fakeGuest } from '../guest/fake-guest.ts';
import type { VmContext } from './context.ts';
import { flushGuestDisks } from './guest-access.ts';
import { deleteVm, stopVm } from './lifecycle.ts';
import { newRecord, type VmRecord } from './record.ts';

const log = pino({ level: 'silent' });
const disposers: Array<() => unknown> = [];
afterEach(async () => {
  while (disposers.length) await disposers.pop()!();
});

/** What happened, in order: the guest's requests (`op`) and the VMM's kill (`kill`). */
type Seen = string[];

/** A VMM that only records its kill. */
function fakeInstance(seen: Seen): VmmInstance {
  let exit!: (e: VmmExit) => void;
  const exited = new Promise<VmmExit>((r) => (exit = r));
  return {
    pid: 999_999,
    accel: 'tcg',
    exited,
    pause: async () => undefined,
    resume: async () => undefined,
    requestShutdown: async () => undefined,
    kill: async () => {
      seen.push('kill');
      exit({ cause: 'killed', code: null });
    },
    status: async () => 'running',
    connectGuest: () => {
      throw new Error('not here');
    },
    dispose: () => undefined,
  } as unknown as VmmInstance;
}

/**
 * A running VM's record whose guest offers `capabilities` and answers each request after
 * `answerMs` (null: never), recording it.
 */
async function runningVm(capabilities: string[], answerMs: number | null, volumes: AgentVmSpec['volumes']) {
  const seen: Seen = [];
  const g = fakeGuest((sock, f) => {
    if (f.type !== FrameType.REQUEST || !f.json) return;
    seen.push(String(f.json.op));
    if (answerMs === null) return;
    setTimeout(() => sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true, tookMs: 1 })), answerMs);
  }, capabilities);
  const conn = connectToFake(g.path, log);
  disposers.push(
    () => g.close(),
    () => conn.dispose(),
  );
  await conn.ready();
  const dir = await mkdtemp(join(tmpdir(), 'hearth-flush-'));
  disposers.push(() => rm(dir, { recursive: true, force: true }));
  const rec: VmRecord = newRecord({ id: 'vm_flush', volumes } as AgentVmSpec, dir);
  Object.assign(rec, { phase: 'running', instance: fakeInstance(seen), guest: conn });
  return { rec, seen };
}

/** The parts of the agent's VM context that stop and delete use. */
function contextFor(rec: VmRecord): VmContext {
  return {
    o: { log },
    log,
    vms: new Map([[rec.spec.id, rec]]),
    need: () => rec,
    serial: <T>(_r: VmRecord, fn: () => Promise<T>) => fn(),
    dropGuest: (r: VmRecord) => {
      r.guest?.dispose();
      r.guest = null;
    },
    releaseNet: async () => undefined,
    status: (id: string) => ({ id, phase: rec.phase }),
  } as unknown as VmContext;
}

const volume = [{ id: 'vol_data', readOnly: false }];

describe('writing the guest page cache to its disks before the VMM is killed', () => {
  it('a delete of a VM with a volume: fs.sync is answered before the kill', async () => {
    const { rec, seen } = await runningVm([FS_SYNC_FEATURE], 50, volume);
    await deleteVm(contextFor(rec), rec.spec.id);
    expect(seen).toEqual(['fs.sync', 'kill']);
  });

  it('a delete of a VM without volumes kills at once (its disk goes with it)', async () => {
    const { rec, seen } = await runningVm([FS_SYNC_FEATURE], 50, []);
    await deleteVm(contextFor(rec), rec.spec.id);
    expect(seen).toEqual(['kill']);
  });

  it('a forced stop flushes (the root disk is kept); a graceful one leaves it to the guest shutdown', async () => {
    const forced = await runningVm([FS_SYNC_FEATURE], 50, []);
    await stopVm(contextFor(forced.rec), forced.rec.spec.id, { force: true, timeoutMs: 1000 });
    expect(forced.seen).toEqual(['fs.sync', 'kill']);
    // The guest's own shutdown syncs; this fake never powers off, so the kill follows the grace time.
    const graceful = await runningVm([FS_SYNC_FEATURE], 0, volume);
    await stopVm(contextFor(graceful.rec), graceful.rec.spec.id, { force: false, timeoutMs: 100 });
    expect(graceful.seen).toEqual(['shutdown', 'kill']);
  });

  it('a guest without the op is not asked; one that does not answer is killed after the deadline', async () => {
    const old = await runningVm([], 0, volume);
    await flushGuestDisks(old.rec, 5000);
    expect(old.seen).toEqual([]);

    const stuck = await runningVm([FS_SYNC_FEATURE], null, volume);
    await flushGuestDisks(stuck.rec, 300);
    expect(stuck.seen).toEqual(['fs.sync']);
  });

  it('a paused VM is not asked (its guest cannot answer)', async () => {
    const { rec, seen } = await runningVm([FS_SYNC_FEATURE], 0, volume);
    rec.phase = 'paused';
    await flushGuestDisks(rec, 5000);
    expect(seen).toEqual([]);
  });
});
