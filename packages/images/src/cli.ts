// Builds the built-in images into the cache; used by the setup script.
import { ensureBuiltinImages } from './builtin.ts';

const artifacts = await ensureBuiltinImages((msg) => console.error(`warning: ${msg}`));
for (const a of artifacts) console.log(`${a.kind.padEnd(7)} ${a.name.padEnd(16)} ${a.path}`);
