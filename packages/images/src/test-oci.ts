import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOnce, recipeKey } from './builtin.ts';

const RECIPES = fileURLToPath(new URL('../../../images/recipes/', import.meta.url));

/**
 * OCI test images built from Debian bookworm packages (mmdebstrap → umoci), for the container
 * tests: built by setup (or on first use), cached outside the checkout by the hash of their
 * recipe files; a test only pushes the cached layout into its own registry.
 */
export const TEST_OCI_IMAGES = {
  web: { recipe: 'oci-web.sh', parts: ['oci-lib.sh'] },
  postgres: { recipe: 'oci-postgres.sh', parts: ['oci-lib.sh', 'oci-postgres-entrypoint.sh'] },
} as const;

export type TestOciImage = keyof typeof TEST_OCI_IMAGES;

/** The OCI image layout (tag `img`) of a test image, built when the cache has none for its recipe. */
export async function ensureTestOciImage(name: TestOciImage): Promise<string> {
  const r = TEST_OCI_IMAGES[name];
  const parts = await Promise.all(r.parts.map((p) => readFile(join(RECIPES, p), 'utf8')));
  const dir = await buildOnce(r.recipe, await recipeKey(r.recipe, parts.join('\0')), ['layout/index.json']);
  return join(dir, 'layout');
}
