// Builds the release tarball `release/hearth-<version>.tgz` (`npm run release`): an npm package of
// the bundled `hearth` command that `npm install -g ./hearth-<version>.tgz` puts on the PATH
// (docs/install.md). Self-contained: the packages the bundle leaves external travel inside it as
// bundled dependencies, so the install reads no registry. Beside the bundle: the built dashboard,
// the guest agent's Go sources and the image recipes, which the bundle finds next to itself.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import process from 'node:process';
import * as esbuild from 'esbuild';
import { ROOT } from '../apps/cli/bin/bundle.mjs';
import { EXTERNAL, esbuildOptions } from './bundle-options.mjs';

/** Externals the bundle never loads on a host: the build tools (tsx runs sources; esbuild builds). */
const BUILD_ONLY = new Set(['esbuild', 'tsx']);

const versionTs = await readFile(join(ROOT, 'apps/cli/src/version.ts'), 'utf8');
const version = /HEARTH_VERSION = '([^']+)'/.exec(versionTs)?.[1];
if (!version) throw new Error('apps/cli/src/version.ts names no HEARTH_VERSION');
const outDir = join(ROOT, 'release');
const stage = await mkdtemp(join(tmpdir(), 'hearth-release-'));
try {
  await build(stage);
  await mkdir(outDir, { recursive: true });
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', outDir, stage], {
    encoding: 'utf8',
  }).trim();
  process.stdout.write(`release: ${join(outDir, name.split('\n').at(-1))}\n`);
} finally {
  await rm(stage, { recursive: true, force: true });
}

async function build(stage) {
  // `dist/` sits one level below the package root, as the sources' neighbours are found from it.
  await esbuild.build({
    ...esbuildOptions({ outdir: join(stage, 'dist'), upToRoot: '..' }),
    metafile: false,
  });
  if (!existsSync(join(ROOT, 'apps/web/dist/index.html'))) {
    throw new Error('apps/web/dist is not built: run scripts/setup.sh (or scripts/build-web.sh) first');
  }
  await cp(join(ROOT, 'apps/web/dist'), join(stage, 'apps/web/dist'), { recursive: true });
  await cp(join(ROOT, 'images/recipes'), join(stage, 'images/recipes'), { recursive: true });
  // The guest agent is built on the host from these (packages/images/src/guest-agent.ts).
  await mkdir(join(stage, 'apps/guest'), { recursive: true });
  for (const f of await readdir(join(ROOT, 'apps/guest'))) {
    if ((f.endsWith('.go') && !f.endsWith('_test.go')) || f === 'go.mod' || f === 'build.sh')
      await cp(join(ROOT, 'apps/guest', f), join(stage, 'apps/guest', f));
  }
  // So is the SEEK_DATA helper that merges Firecracker diff snapshots (packages/firecracker/src/extents.ts).
  await mkdir(join(stage, 'packages/firecracker/extents'), { recursive: true });
  for (const f of await readdir(join(ROOT, 'packages/firecracker/extents'))) {
    if ((f.endsWith('.go') && !f.endsWith('_test.go')) || f === 'go.mod')
      await cp(join(ROOT, 'packages/firecracker/extents', f), join(stage, 'packages/firecracker/extents', f));
  }
  await mkdir(join(stage, 'bin'), { recursive: true });
  await writeFile(
    join(stage, 'bin/hearth.mjs'),
    "#!/usr/bin/env node\n// The installed `hearth` command: the release's bundle.\nimport '../dist/hearth.mjs';\n",
    { mode: 0o755 },
  );
  const deps = await closure(EXTERNAL.filter((n) => !BUILD_ONLY.has(n)));
  const top = [...deps.keys()].sort();
  for (const name of top) {
    await cp(deps.get(name), join(stage, 'node_modules', name), { recursive: true, dereference: true });
  }
  const pkg = {
    name: 'hearth',
    version,
    description: 'Self-hosted microVM platform: manager, agent, CLI and dashboard.',
    type: 'module',
    license: 'UNLICENSED',
    engines: { node: '>=20.19' },
    bin: { hearth: 'bin/hearth.mjs' },
    dependencies: Object.fromEntries(top.map((n) => [n, deps.versions.get(n)])),
    bundleDependencies: top,
  };
  await writeFile(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  await cp(join(ROOT, 'README.md'), join(stage, 'README.md'));
}

/**
 * The installed packages among `names` and everything they depend on, resolved as Node would from
 * each package's directory upwards (absent optional ones, pg-native or bufferutil, are skipped):
 * name → directory for those at the top of node_modules, with their versions. Packages nested in
 * another's node_modules are walked too (their dependencies may sit at the top), and travel inside
 * their parent's copy.
 */
async function closure(names) {
  const found = new Map();
  found.versions = new Map();
  const seen = new Set();
  const visit = async (name, fromDir) => {
    const dir = resolvePackage(name, fromDir);
    if (!dir || seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    if (dir === join(ROOT, 'node_modules', name)) {
      found.set(name, dir);
      found.versions.set(name, manifest.version);
    }
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }))
      await visit(dep, dir);
  };
  for (const n of names) await visit(n, ROOT);
  return found;
}

function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === dirname(dir)) return null;
  }
}
