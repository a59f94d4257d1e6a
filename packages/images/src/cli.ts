// Builds the built-in images into the cache; used by the setup script.
import { ensureBuiltinImages } from './builtin.ts';

for (const a of await ensureBuiltinImages())
  console.log(`${a.kind.padEnd(7)} ${a.name.padEnd(16)} ${a.path}`);
