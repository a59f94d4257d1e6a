import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from '@hearth/manager';

const INPUTS = [
  '../../node_modules/@electric-sql/pglite/package.json',
  '../../apps/manager/src/db/migrations.ts',
  '../../apps/manager/src/db/migrations-later.ts',
].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));

/**
 * A PGlite data directory as the manager's openDb leaves it (initdb, then every migration), made
 * once and kept in the temp directory under a key of the PGlite version and the migration
 * sources. initdb under WASM costs seconds of CPU; a copy costs milliseconds.
 */
async function template(): Promise<string> {
  const key = createHash('sha256');
  for (const f of INPUTS) key.update(await readFile(f));
  const dir = join(tmpdir(), `hearth-pglite-template-${key.digest('hex').slice(0, 16)}`);
  if (
    await stat(join(dir, 'PG_VERSION')).then(
      () => true,
      () => false,
    )
  )
    return dir;
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const db = await openDb({ pgliteDir: tmp });
    await db.close();
    // Renamed whole, so a template that exists is complete; a file that made it first wins.
    await rename(tmp, dir).catch(() => undefined);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** Fills `pgliteDir` (which must not exist yet) with a copy of the template. */
export async function seedPglite(pgliteDir: string): Promise<void> {
  const from = await template();
  await mkdir(dirname(pgliteDir), { recursive: true });
  await cp(from, pgliteDir, { recursive: true });
}
