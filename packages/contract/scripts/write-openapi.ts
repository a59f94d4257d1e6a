// Regenerates the artefacts derived from the contract: docs/errors.md and docs/roles.md
// (committed), and openapi.json (a local copy for readers and tools; git ignores it).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApi } from '../src/openapi.ts';
import { renderErrorsDoc } from '../src/errors-doc.ts';
import { renderRolesDoc } from '../src/roles-doc.ts';

const openapi = fileURLToPath(new URL('../openapi.json', import.meta.url));
writeFileSync(openapi, JSON.stringify(buildOpenApi('0.1.0'), null, 2) + '\n');
const errors = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));
writeFileSync(errors, renderErrorsDoc());
const roles = fileURLToPath(new URL('../../../docs/roles.md', import.meta.url));
writeFileSync(roles, renderRolesDoc());
console.log(`wrote ${openapi}\nwrote ${errors}\nwrote ${roles}`);
