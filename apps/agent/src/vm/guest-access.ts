import { FS_SYNC_FEATURE, HearthError } from '@hearth/contract';
import type { VmmInstance } from '@hearth/vmm';
import type { GuestConnection } from '../guest/connection.ts';
import { GuestError } from '../guest/errors.ts';
import type { VmContext } from './context.ts';
import type { VmRecord } from './record.ts';

export const GUEST_RECONNECT_MS = 15_000;

/**
 * The guest agent session of a running VM, or a clear reason why there is none. A channel that
 * is reconnecting (after a snapshot, a restore, an agent restart) is waited for, bounded: past
 * `guestReconnectMs` the call fails with the retryable GUEST_AGENT_RECONNECTING.
 */
export async function guestOf(ctx: VmContext, id: string): Promise<GuestConnection> {
  const waitMs = ctx.o.guestReconnectMs ?? GUEST_RECONNECT_MS;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const rec = ctx.need(id);
    if (rec.phase !== 'running' || !rec.instance) {
      throw new HearthError('VM_NOT_RUNNING', `VM ${id} is ${rec.phase}; it must be running`, {
        detail: { state: rec.phase },
      });
    }
    const conn = rec.guest;
    if (!conn) {
      throw new HearthError(
        'GUEST_AGENT_UNAVAILABLE',
        `VM ${id} has no guest agent (its image could not be given one)`,
      );
    }
    if (conn.info) return conn;
    try {
      await conn.connected(Math.max(0, deadline - Date.now()));
    } catch (e) {
      if (e instanceof GuestError && e.code === 'GUEST_RECONNECTING') {
        throw new HearthError(
          'GUEST_AGENT_RECONNECTING',
          `the channel to the guest agent of VM ${id} did not come back within ${waitMs / 1000} s`,
        );
      }
      // Disposed while we waited: a stop, delete or restore replaced it; look again, once it did.
      if (ctx.vms.get(id)?.guest === conn) throw e;
    }
  }
}

/**
 * The guest agent's own `shutdown` is the most reliable ask (no ACPI or i8042 needed); the VMM's
 * power button / Ctrl-Alt-Del is the fallback for guests without a connected agent.
 */
export async function askGuestToShutDown(rec: VmRecord, inst: VmmInstance): Promise<void> {
  if (rec.guest?.info) {
    const asked = await rec.guest.request({ op: 'shutdown' }, 5000).then(
      () => true,
      () => false,
    );
    if (asked) return;
  }
  await inst.requestShutdown();
}

/** How long a kill waits for the guest to write its dirty pages (a slow, emulated disk included). */
export const GUEST_FLUSH_MS = 20_000;

/**
 * Before the VMM of a running VM is killed: asks its guest agent to write the page cache to the
 * disks (fs.sync), so what the guest's processes wrote survives the kill, as a file written in a
 * container survives `docker rm -f` on a host kernel. Without it the writes still in the guest's
 * memory are lost, and ext4 may keep a grown file size over blocks never written (a file ending
 * in zeros). Best effort: a guest that does not answer in `timeoutMs`, has no connected agent or
 * an agent without the op is killed all the same.
 */
export async function flushGuestDisks(rec: VmRecord, timeoutMs = GUEST_FLUSH_MS): Promise<void> {
  const g = rec.guest;
  if (rec.phase !== 'running' || !rec.instance || !g?.info?.capabilities.includes(FS_SYNC_FEATURE)) return;
  await g.request({ op: 'fs.sync' }, timeoutMs).then(
    () => undefined,
    () => undefined,
  );
}
