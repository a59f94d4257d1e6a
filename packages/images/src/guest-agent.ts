import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheDir } from './cache.ts';

const run = promisify(execFile);
const GUEST_SRC = fileURLToPath(new URL('../../../apps/guest/', import.meta.url));

/** Hash of the guest agent's sources (tests excluded): the cache key of its binary. */
export async function guestAgentKey(): Promise<string> {
  const files = (await readdir(GUEST_SRC))
    .filter((f) => (f.endsWith('.go') && !f.endsWith('_test.go')) || f === 'go.mod' || f === 'build.sh')
    .sort();
  const h = createHash('sha256');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(await readFile(join(GUEST_SRC, f)))
      .update('\0');
  return h.digest('hex').slice(0, 16);
}

/**
 * Builds (or finds in the cache) the static guest agent binary with Debian's Go toolchain.
 * Returns its path; the same binary is baked into the base image and injected into other images.
 */
export async function ensureGuestAgent(): Promise<{ path: string; key: string }> {
  const key = await guestAgentKey();
  const dir = join(cacheDir(), `guest-agent-${key}`);
  const path = join(dir, 'hearth-guest');
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  )
    return { path, key };
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await run('bash', [join(GUEST_SRC, 'build.sh'), tmp], { cwd: GUEST_SRC, maxBuffer: 16 * 1024 * 1024 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `Building the guest agent failed: ${err.stderr?.trim() || err.message} (is golang-go installed? run scripts/setup.sh)`,
    );
  }
  return { path, key };
}
