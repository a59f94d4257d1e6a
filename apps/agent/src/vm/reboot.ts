import { bootVm } from './boot/index.ts';
import type { VmContext } from './context.ts';
import type { VmRecord } from './record.ts';

const REBOOT_LIMIT = 5;
const REBOOT_WINDOW_MS = 60_000;

export const REBOOT_LOOP_REASON = `the guest rebooted ${REBOOT_LIMIT} times within ${REBOOT_WINDOW_MS / 1000} s; left stopped to break the loop`;

/** A guest that keeps resetting (a panic loop) is stopped after a few quick reboots. */
export function mayReboot(rec: VmRecord): boolean {
  const now = Date.now();
  rec.reboots = rec.reboots.filter((t) => now - t < REBOOT_WINDOW_MS);
  if (rec.reboots.length >= REBOOT_LIMIT) return false;
  rec.reboots.push(now);
  return true;
}

/**
 * QEMU runs with -no-reboot so that a reset is visible; a reboot inside the guest is carried out
 * here as a fresh boot on the same disk. The caller has set the phase to `starting`.
 */
export function bootAfterReset(ctx: VmContext, rec: VmRecord): void {
  const id = rec.spec.id;
  ctx.log.info({ vm: id }, 'guest rebooted; booting it again');
  ctx.o.onUnexpectedChange(ctx.status(id));
  void ctx
    .serial(rec, async () => {
      // A delete or stop that ran meanwhile wins: boot only if nothing else touched the VM.
      if (ctx.vms.get(id) !== rec || rec.phase !== 'starting' || rec.instance) return;
      await bootVm(ctx, rec);
      ctx.o.onUnexpectedChange(ctx.status(id));
    })
    .catch((e: Error) => ctx.log.warn({ vm: id, err: e.message }, 'booting after a guest reboot failed'));
}
