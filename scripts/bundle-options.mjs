// The esbuild options of the `hearth` bundle, shared by scripts/build-bundles.mjs (the bundle the
// checkout's bin runs) and scripts/release.mjs (the one the release tarball carries).
import { dirname, join, relative } from 'node:path';
import { readFileSync } from 'node:fs';
import { ROOT } from '../apps/cli/bin/bundle.mjs';

/**
 * Left to node_modules at run time: packages that load files next to their own module (PGlite's
 * wasm and data files, pino's worker-thread transports), native or optional add-ons that ws and pg
 * try to require, and swagger-ui-dist, which the manager serves as files.
 */
export const EXTERNAL = [
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

/** The build: `outdir` gets the files; `upToRoot` is the path from there to the tree holding the sources' neighbours. */
export function esbuildOptions({ outdir, upToRoot }) {
  return {
    absWorkingDir: ROOT,
    entryPoints: { hearth: 'apps/cli/src/main.ts' },
    outdir,
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
  };
}
