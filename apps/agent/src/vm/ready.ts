import { readFile } from 'node:fs/promises';
import { HearthError } from '@hearth/contract';
import { lastLine, type VmmInstance } from '@hearth/vmm';

export interface ReadyRace {
  instance: VmmInstance;
  timeoutMs: number;
  /** The failure when `timeoutMs` passes first. */
  timeoutMessage: string;
  /** The VMM's stderr file: its last line is kept in the failure when the VMM exits first. */
  stderrPath: string | null;
  /**
   * Resolves once the guest is up; must reject with the signal's reason when it aborts. `fail`
   * ends the race early with a failure of its own (e.g. the guest agent refused the session).
   */
  ready: (signal: AbortSignal, fail: (message: string) => void) => Promise<void>;
}

/**
 * The one readiness race of a boot: the guest comes up, or the VMM exits first (with the cause
 * and the last line of its stderr), or the time runs out. Every failure is a VM_FAILED whose
 * message becomes the VM's reason; the timer and listeners are gone when this settles.
 */
export async function raceReady(r: ReadyRace): Promise<void> {
  const ac = new AbortController();
  const fail = (message: string) => ac.abort(new HearthError('VM_FAILED', message));
  const timer = setTimeout(() => fail(r.timeoutMessage), r.timeoutMs);
  void r.instance.exited.then(async (x) => {
    if (ac.signal.aborted) return;
    const said = r.stderrPath ? lastLine((await readFile(r.stderrPath, 'utf8').catch(() => '')).trim()) : '';
    fail(`Booting failed: the VMM exited before the guest was up (${x.cause})${said ? `: ${said}` : ''}`);
  });
  try {
    await r.ready(ac.signal, fail);
  } finally {
    clearTimeout(timer);
    ac.abort(new Error('done'));
  }
}
