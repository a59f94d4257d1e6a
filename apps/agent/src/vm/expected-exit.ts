import type { VmContext } from './context.ts';
import type { VmRecord } from './record.ts';

/**
 * Kills the VM's VMM as an exit we cause (stop, delete, a failed boot, a VMM replaced by a start
 * or a restore): the exit watcher sees `expectingExit` and neither reports it nor cleans up
 * after it. The guest session goes first. With `ignoreErrors` a VMM that is already gone or will
 * not die is let go; without, the kill's error reaches the caller and the VMM stays recorded.
 * The caller releases the VM's network itself.
 */
export async function killExpected(
  ctx: VmContext,
  rec: VmRecord,
  opts: { ignoreErrors: boolean },
): Promise<void> {
  const inst = rec.instance;
  rec.expectingExit = true;
  try {
    ctx.dropGuest(rec);
    if (inst) await (opts.ignoreErrors ? inst.kill().catch(() => undefined) : inst.kill());
  } finally {
    // The watcher read the flag when the exit happened, before the kill above resolved.
    rec.expectingExit = false;
  }
  rec.instance = null;
}
