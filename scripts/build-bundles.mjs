// Bundles the `hearth` CLI, with the manager and the agent it runs, into ESM JavaScript under
// node_modules/.cache/hearth-bundle/<content hash>/ (docs/decisions/0010-bundled-builds.md).
// Skips the build while the current one matches its inputs; `--force` rebuilds anyway.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import process from 'node:process';
import * as esbuild from 'esbuild';
import { ROOT, bundleRoot, currentBundle, describeInputs, setCurrent } from '../apps/cli/bin/bundle.mjs';

const BUNDLE_ROOT = bundleRoot();

/**
 * Left to node_modules at run time: packages that load files next to their own module (PGlite's
 * wasm and data files, pino's worker-thread transports), native or optional add-ons that ws and pg
 * try to require, and swagger-ui-dist, which the manager serves as files.
 */
const EXTERNAL = [
  '@electric-sql/pglite',
  'pg',
  'pg-native',
  'pino',
  'thread-stream',
  'bufferutil',
  'utf-8-validate',
  'swagger-ui-dist',
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'esbuild',
  'tsx',
];

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
  'apps/cli/bin/bundle.mjs',
];

/**
 * A workspace file that finds files next to itself (`new URL('../x', import.meta.url)`) keeps
 * finding them from the bundle: its `import.meta.url` becomes its source location, computed from
 * the bundle's own URL so the checkout can move. Output files all sit in one directory.
 */
function sourceLocations(outDepthFromRoot) {
  return {
    name: 'source-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        let contents = readFileSync(args.path, 'utf8');
        if (contents.includes('import.meta.url')) {
          const rel = join(outDepthFromRoot, relative(ROOT, args.path));
          contents = contents.replaceAll(
            'import.meta.url',
            `new URL(${JSON.stringify(rel)}, import.meta.url).href`,
          );
        }
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Zod's namespace object re-exports its error messages in ~50 languages (`z.locales`,
 * `z.core.locales`); holding `z` as a value keeps them all in the bundle, ~290 KiB of source that
 * every process (the agent for months) parses and keeps, ~1.5 MiB of RSS. Hearth speaks English
 * only (the error catalogue and hints are English; nothing calls `z.config(z.locales.xx())`), so
 * the namespace keeps `en` alone: the default Zod configures at import.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-en' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
    }));
  },
};

async function build() {
  await mkdir(BUNDLE_ROOT, { recursive: true });
  const tmp = join(BUNDLE_ROOT, `tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const upToRoot = relative(tmp, ROOT);
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { hearth: 'apps/cli/src/main.ts' },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    // V8 keeps each loaded module's source text in the heap for as long as the process runs
    // (~4 MiB for an agent, twice that where a comment holds a non-Latin-1 character, which makes
    // the whole chunk a two-byte string). Whitespace, comments and dead code go; names stay, so
    // stack traces and `.name` read as before (the source map maps them to the TypeScript).
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    logLevel: 'warning',
    external: EXTERNAL,
    // CommonJS dependencies (fastify, commander, ws) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __hearthRequire } from 'node:module'; const require = __hearthRequire(import.meta.url);",
    },
    plugins: [sourceLocations(upToRoot), zodEnglishOnly],
  });
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
