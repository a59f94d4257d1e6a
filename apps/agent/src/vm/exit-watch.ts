import type { VmmInstance } from '@hearth/vmm';
import { tailFile } from '../console-log.ts';
import { CONSOLE_REASON_BYTES, withConsole } from './console-reason.ts';
import type { VmContext } from './context.ts';
import { filesOf, persist, type VmRecord } from './record.ts';
import { bootAfterReset, mayReboot, REBOOT_LOOP_REASON } from './reboot.ts';

/**
 * Observes a running VMM until it exits. Exits we caused are someone else's to handle; one we
 * did not cause becomes the VM's new phase and reason, reported through `onUnexpectedChange`,
 * and a guest reset becomes a fresh boot (up to the reboot-loop guard).
 */
export function watchExit(ctx: VmContext, rec: VmRecord, instance: VmmInstance): void {
  void instance.exited.then(async (x) => {
    // Read before any await: stop() clears the flag once its own wait is over.
    const expected = rec.expectingExit;
    if (rec.instance !== instance) return;
    rec.instance = null;
    ctx.dropGuest(rec);
    // Whoever expected this exit (stop, delete, a failed boot, a replaced VMM) cleans up the TAP
    // itself; deleting it here could race a new boot's TAP of the same name.
    if (expected) return;
    // Decide before any await, so that a stop or delete arriving meanwhile sees the new phase.
    const reboot = x.cause === 'guest-reset' && mayReboot(rec);
    if (reboot) rec.phase = 'starting';
    await ctx.releaseNet(rec.spec);
    if (reboot) return bootAfterReset(ctx, rec);
    if (x.cause === 'guest-shutdown') {
      rec.phase = 'stopped';
      rec.reason = 'the guest powered itself off';
    } else if (x.cause === 'guest-reset') {
      rec.phase = 'failed';
      rec.reason = REBOOT_LOOP_REASON;
    } else {
      rec.phase = 'failed';
      rec.reason = withConsole(
        `the VMM process exited unexpectedly (${x.cause})`,
        await tailFile(filesOf(rec).consoleLog, CONSOLE_REASON_BYTES),
      );
    }
    await persist(rec, rec.phase === 'failed' ? 'failed' : 'stopped').catch(() => undefined);
    ctx.log.warn({ vm: rec.spec.id, cause: x.cause, phase: rec.phase }, 'VM changed on its own');
    ctx.o.onUnexpectedChange(ctx.status(rec.spec.id));
  });
}
