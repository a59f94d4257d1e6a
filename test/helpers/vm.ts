import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has exited; it only waits for its parent to reap it.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/ Z /.test(stat.slice(stat.lastIndexOf(')')));
}

export function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Polls a condition until it holds (events we cannot subscribe to, like a process exiting). */
export async function until(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
