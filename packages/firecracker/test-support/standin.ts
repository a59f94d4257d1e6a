import { chmod, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Writes an executable named `firecracker` into `dir` that runs the stand-in under Node with
 * tsx (absolute paths: the VMM's working directory is its run directory, not the repository).
 */
export async function writeStandinBinary(dir: string, name = 'firecracker'): Promise<string> {
  const tsx = import.meta.resolve('tsx');
  const script = join(here, 'firecracker-standin.ts');
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\nexec '${process.execPath}' --import '${tsx}' '${script}' "$@"\n`);
  await chmod(path, 0o755);
  return path;
}
