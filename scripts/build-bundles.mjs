// Bundles the `hearth` CLI, with the manager and the agent it runs, into ESM JavaScript under
// node_modules/.cache/hearth-bundle/<content hash>/ (docs/decisions/0010-bundled-builds.md).
// Skips the build while the current one matches its inputs; `--force` rebuilds anyway.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import process from 'node:process';
import * as esbuild from 'esbuild';
import { ROOT, bundleRoot, currentBundle, describeInputs, setCurrent } from '../apps/cli/bin/bundle.mjs';
import { esbuildOptions } from './bundle-options.mjs';

const BUNDLE_ROOT = bundleRoot();

/** Inputs that shape the build without being bundled themselves. */
const EXTRA_INPUTS = [
  'package-lock.json',
  'package.json',
  // Their `exports` maps steer resolution.
  ...['apps', 'packages'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .map((name) => `${dir}/${name}/package.json`)
      .filter((rel) => existsSync(join(ROOT, rel))),
  ),
  'tsconfig.json',
  'tsconfig.base.json',
  'scripts/build-bundles.mjs',
  'scripts/bundle-options.mjs',
  'apps/cli/bin/bundle.mjs',
];

async function build() {
  await mkdir(BUNDLE_ROOT, { recursive: true });
  const tmp = join(BUNDLE_ROOT, `tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const upToRoot = relative(tmp, ROOT);
  const result = await esbuild.build(esbuildOptions({ outdir: tmp, upToRoot }));
  const { inputs, key: dir } = await describeInputs(ROOT, [
    ...Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules/')),
    ...EXTRA_INPUTS,
  ]);
  // The same inputs built the same files: a build already there (maybe in use) stays as it is.
  const exists = await stat(join(BUNDLE_ROOT, dir)).catch(() => null);
  if (exists) await rm(tmp, { recursive: true, force: true });
  else await rename(tmp, join(BUNDLE_ROOT, dir));
  await setCurrent(ROOT, dir, inputs);
  await prune(dir);
  const size = Object.entries(result.metafile.outputs)
    .filter(([name]) => name.endsWith('.mjs'))
    .reduce((n, [, o]) => n + o.bytes, 0);
  process.stdout.write(
    `setup: bundled the hearth CLI, manager and agent (${Math.round(size / 1024)} KiB) in ${dir}\n`,
  );
}

/**
 * Keeps the new build and the one before it (a running `hearth up` may still load its chunks);
 * another build's temporary directory is left to that build.
 */
async function prune(keep) {
  const builds = [];
  for (const name of await readdir(BUNDLE_ROOT)) {
    if (name === keep || name.startsWith('current.json') || name.startsWith('tmp-')) continue;
    const st = await stat(join(BUNDLE_ROOT, name));
    if (st.isDirectory()) builds.push({ name, mtimeMs: st.mtimeMs });
  }
  builds.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const b of builds.slice(1)) await rm(join(BUNDLE_ROOT, b.name), { recursive: true, force: true });
}

const force = process.argv.includes('--force');
if (force || (await currentBundle()).entry === null) await build();
