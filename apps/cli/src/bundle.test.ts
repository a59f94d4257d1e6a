import { mkdir, mkdtemp, rm, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleRoot, currentBundle, describeInputs, setCurrent } from '../bin/bundle.mjs';

// The bin runs the bundle only while it matches the sources; these checks decide that.
describe('currentBundle', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'hearth-bundle-'));
    await mkdir(join(root, 'src'));
    await writeFile(join(root, 'src', 'a.ts'), 'export const a = 1;\n');
    await writeFile(join(root, 'package-lock.json'), '{}\n');
    const { inputs, key } = await describeInputs(root, ['src/a.ts', 'package-lock.json']);
    await mkdir(join(bundleRoot(root), key), { recursive: true });
    await setCurrent(root, key, inputs);
  });

  afterEach(() => rm(root, { recursive: true, force: true }));

  it('is the recorded build while its inputs are unchanged', async () => {
    const b = await currentBundle(root);
    expect(b.why).toBeNull();
    expect(b.entry).toMatch(new RegExp(`^${bundleRoot(root)}/[0-9a-f]{16}/hearth\\.mjs$`));
  });

  it('stays current when a checkout rewrote a file with the same content', async () => {
    await utimes(join(root, 'src', 'a.ts'), new Date(), new Date(Date.now() + 5000));
    expect((await currentBundle(root)).why).toBeNull();
  });

  it('is stale when a file changed, even at the same size', async () => {
    await writeFile(join(root, 'src', 'a.ts'), 'export const a = 2;\n');
    expect(await currentBundle(root)).toEqual({ entry: null, why: 'src/a.ts changed since it was built' });
  });

  it('is stale when the lockfile changed size', async () => {
    await truncate(join(root, 'package-lock.json'), 1);
    expect((await currentBundle(root)).why).toBe('package-lock.json changed since it was built');
  });

  it('is stale when an input is gone', async () => {
    await unlink(join(root, 'src', 'a.ts'));
    expect((await currentBundle(root)).why).toBe('src/a.ts is gone');
  });

  it('says so when nothing was built', async () => {
    await rm(bundleRoot(root), { recursive: true });
    expect(await currentBundle(root)).toEqual({ entry: null, why: 'no bundle has been built' });
  });
});
