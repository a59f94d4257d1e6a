import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

export const DEFAULT_CACHE_DIR = '/var/cache/hearth';

/** Where built artefacts live, outside any checkout, keyed by the hash of their recipe. */
export function cacheDir(): string {
  return process.env.HEARTH_CACHE_DIR ?? DEFAULT_CACHE_DIR;
}

/**
 * Runs `fn` while holding `<path>.lock`, so that two setups on one machine (a test run and a
 * quick start, or several checkouts) build an artefact once instead of all at once. The lock file
 * holds its owner's pid; one whose owner is gone (killed mid-build) is taken over. Waiting polls
 * once a second: builds take minutes, and this runs only in setup.
 */
export async function withBuildLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  for (;;) {
    try {
      const fh = await open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(await readFile(lock, 'utf8').catch(() => ''));
    if (owner > 0 && !alive(owner)) await unlink(lock).catch(() => undefined);
    else await delay(1000);
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
