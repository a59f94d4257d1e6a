import { readFile, stat } from 'node:fs/promises';
import { HearthError, type AgentMigrateProgress, type AgentVmStatus } from '@hearth/contract';
import { abortSend, QemuInstance, sendLive, type LiveResult } from '@hearth/qemu';
import type { VmContext } from './context.ts';
import { filesOf, type VmRecord } from './record.ts';

const progress = new Map<string, AgentMigrateProgress>();
const DRIVES = ['root'];

function qemuOf(rec: VmRecord, id: string): QemuInstance {
  const inst = rec.instance;
  if (rec.phase !== 'running' || !(inst instanceof QemuInstance)) {
    throw new HearthError(
      'MIGRATION_UNSUPPORTED',
      `Live-migrating VM ${id} failed: it is ${rec.phase} on ${rec.spec.vmm}; live migration needs a running QEMU VM.`,
    );
  }
  return inst;
}

export async function migrateInfo(
  ctx: VmContext,
  id: string,
): Promise<{ diskBytes: number; hasAgent: boolean }> {
  const rec = ctx.need(id);
  const f = filesOf(rec);
  const info = await readFile(f.diskInfo, 'utf8')
    .then((s) => JSON.parse(s) as { hasAgent?: boolean })
    .catch(() => ({ hasAgent: true }));
  return { diskBytes: (await stat(f.disk)).size, hasAgent: info.hasAgent !== false };
}

/**
 * The source's side (serialised with the VM's other operations): the disk mirrored, memory
 * pre-copied; the source QEMU is left paused, to be deleted once the destination runs the guest
 * or continued by `cancelSend`.
 */
export function sendVm(
  ctx: VmContext,
  id: string,
  target: { host: string; nbdPort: number; migratePort: number },
): Promise<LiveResult> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    const inst = qemuOf(rec, id);
    if (rec.spec.volumes.length) {
      throw new HearthError(
        'MIGRATION_UNSUPPORTED',
        `Live-migrating VM ${id} failed: it has volumes attached; live migration moves the root disk only so far.`,
      );
    }
    progress.set(id, { phase: 'mirroring', percent: 0 });
    const log = ctx.log.child({ vm: id, migrateTo: target.host });
    try {
      // TCG loses dirty pages during a live copy (live-migration.ts, MemoryCopy): paused there.
      const memory = inst.accel === 'tcg' ? 'paused' : 'live';
      const r = await sendLive(
        inst.qmpClient,
        { ...target, drives: DRIVES },
        (p) => progress.set(id, p),
        memory,
      );
      log.info({ ...r, memory }, 'live migration sent');
      return r;
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'live migration failed; the VM runs here again');
      throw new HearthError('MIGRATION_FAILED', `Live-migrating VM ${id} failed: ${(e as Error).message}`);
    } finally {
      progress.delete(id);
    }
  });
}

export function sendProgress(id: string): AgentMigrateProgress {
  return progress.get(id) ?? { phase: 'idle', percent: 0 };
}

/** A completed send the destination could not continue: the guest runs here again. */
export function cancelSend(ctx: VmContext, id: string): Promise<AgentVmStatus> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    if (rec.instance instanceof QemuInstance) await abortSend(rec.instance.qmpClient, DRIVES);
    return ctx.status(id);
  });
}
