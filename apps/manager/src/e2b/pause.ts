import type { Logger } from 'pino';
import { HearthError } from '@hearth/contract';
import type { SnapshotService } from '../services/snapshot-service.ts';
import type { VmService } from '../services/vms/vm-service.ts';
import type { Stores } from '../store/index.ts';
import type { SandboxRow, SandboxStore } from './store.ts';

export interface PauseDeps {
  stores: Stores;
  vms: VmService;
  snapshots: SnapshotService;
  store: SandboxStore;
  log: Logger;
}

/** A paused sandbox stays until it is killed or resumed. */
export const PAUSED_KEEP_MS = 30 * 24 * 3600 * 1000;
const VM_WAIT_S = 300;

/**
 * E2B's pause on Hearth (docs/decisions/0025): the sandbox's VM is frozen, a memory+disk snapshot
 * of it is taken, and the VM is stopped, so its VMM process, memory and CPU are released; the
 * VM record (id, name, disk, addresses) stays, `stopped`, on its host. Resume restores the
 * snapshot in place onto that same VM, then deletes the snapshot.
 */
export async function pauseToDisk(d: PauseDeps, row: SandboxRow, actor: string): Promise<string> {
  const vm = await d.stores.vms.require(row.vm_id, row.project);
  if (vm.state === 'running') {
    // Frozen first: nothing the guest does after the snapshot would survive the stop.
    await d.vms.action(vm.id, row.project, 'pause', actor);
    await d.vms.wait(vm.id, row.project, 'paused', VM_WAIT_S);
  }
  let snapshotId: string;
  try {
    snapshotId = (await d.snapshots.create(vm.id, row.project, {}, actor)).id;
  } catch (e) {
    // Nothing was released: the sandbox runs on as it was.
    await d.vms.action(vm.id, row.project, 'resume', actor).catch(() => undefined);
    throw e;
  }
  // Recorded before the stop: from here a resume restores the snapshot whatever the stop does.
  await d.store.setPaused(row.id, snapshotId, new Date(Date.now() + PAUSED_KEEP_MS));
  await d.vms.action(vm.id, row.project, 'stop', actor, { force: true });
  await d.vms.wait(vm.id, row.project, 'stopped', VM_WAIT_S);
  return snapshotId;
}

/**
 * Restores a sandbox paused to disk onto its VM (same id, name, address and disk as at the
 * pause), waits for its guest agent, and deletes the snapshot. When the VM's host cannot take it
 * back (gone, not ready, cordoned, draining, full), the stopped VM moves first to a host placement
 * picks, its disk and this snapshot with it (move-snapshots.ts), and resumes there; a move that
 * cannot be made or fails leaves the sandbox paused where it was, resumable.
 */
export async function resumeFromDisk(d: PauseDeps, row: SandboxRow, end: Date, actor: string): Promise<void> {
  const snapshotId = row.paused_snapshot!;
  const why = await d.vms.whyNotOnItsHost(row.vm_id, row.project);
  if (why) await moveElsewhere(d, row, snapshotId, why, actor);
  const snap = await d.stores.snapshots.require(snapshotId, row.project);
  await d.vms.restoreInPlace(row.vm_id, row.project, snap, actor);
  await d.vms.wait(row.vm_id, row.project, 'running', VM_WAIT_S);
  await d.store.setPaused(row.id, null, end);
  // The VM no longer names it as its origin: the next pause's snapshot has no parent to point at.
  await d.stores.vms.setSnapshotOrigin(row.vm_id, null);
  await dropSnapshot(d, row.project, snapshotId);
}

/** The paused sandbox's stopped VM and its snapshot to another host, with the reason on failure. */
async function moveElsewhere(
  d: PauseDeps,
  row: SandboxRow,
  snapshotId: string,
  why: string,
  actor: string,
): Promise<void> {
  d.log.info({ sandbox: row.id, vm: row.vm_id, why }, 'e2b: resuming a paused sandbox on another host');
  try {
    await d.vms.migrate(row.vm_id, row.project, actor, undefined, [snapshotId]);
  } catch (e) {
    if (!(e instanceof HearthError)) throw e;
    const more = e.code === 'MIGRATION_NO_TARGET' ? 'no other host can take it' : 'moving it failed';
    throw new HearthError(
      e.code,
      // E2B's error body has only the status and message: the catalogue code is named in it.
      `${e.code}: resuming sandbox ${row.id} failed: ${why}, and ${more} (${e.message}). It stays paused, resumable once a host can take it.`,
      { detail: { sandbox: row.id, reason: why, cause: e.detail ?? null } },
    );
  }
}

/** Deletes a paused sandbox's snapshot (files and record); a failure is logged, not raised. */
export async function dropSnapshot(d: PauseDeps, project: string, snapshotId: string): Promise<void> {
  await d.snapshots.delete(snapshotId, project).catch((e: Error) => {
    if (e instanceof HearthError && e.code === 'SNAPSHOT_NOT_FOUND') return;
    d.log.warn({ snapshot: snapshotId, err: e.message }, 'e2b: deleting a paused sandbox’s snapshot failed');
  });
}

/**
 * One pause, resume or kill at a time per sandbox: the next waits for the one before and then
 * sees its outcome (a second pause finds the sandbox paused and answers so).
 */
export class SandboxLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(id) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(fn);
    const tail = mine.catch(() => undefined);
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    return mine;
  }
}
