import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The process runs the `hearth agent` command (not a reused pid of something else). An exited
 * process that nobody reaped yet has an empty command line, so it counts as gone.
 */
async function isAgentProcess(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').includes('agent');
}

/**
 * One agent process per data directory. An agent whose parent `hearth up` was killed lets its
 * in-flight requests finish before it exits; the next one waits for that (bounded), then ends it,
 * so two agents never adopt the same VMs at once.
 */
export async function lockDataDir(
  dataDir: string,
  log: Logger,
  waitMs = 40_000,
): Promise<{ release(): Promise<void> }> {
  const path = join(dataDir, 'agent.pid');
  const old = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (old && old !== process.pid && (await isAgentProcess(old))) {
    log.warn({ pid: old }, 'an earlier agent still runs on this data directory; waiting for it to exit');
    const deadline = Date.now() + waitMs;
    while ((await isAgentProcess(old)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (await isAgentProcess(old)) {
      log.warn({ pid: old }, 'the earlier agent did not exit; killing it');
      process.kill(old, 'SIGKILL');
      while (await isAgentProcess(old)) await new Promise((r) => setTimeout(r, 50));
    }
  }
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const now = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (now === process.pid) await rm(path, { force: true });
    },
  };
}
