#!/usr/bin/env node
// The `hearth` command. It runs the bundle scripts/build-bundles.mjs builds (setup.sh runs it) when
// that matches the sources; otherwise the TypeScript sources through tsx, after a one-line warning.
// HEARTH_FROM_SOURCE=1 runs the sources without the warning (development).
import { pathToFileURL } from 'node:url';
import { currentBundle } from './bundle.mjs';

const bundle = process.env.HEARTH_FROM_SOURCE === '1' ? null : await currentBundle();
if (bundle?.entry) {
  await import(pathToFileURL(bundle.entry).href);
} else {
  if (bundle) {
    process.stderr.write(
      `hearth: running the sources through tsx (slower): ${bundle.why}; \`node scripts/build-bundles.mjs\` builds it\n`,
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
