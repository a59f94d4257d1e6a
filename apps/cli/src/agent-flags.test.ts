import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { currentBundle } from '../bin/bundle.mjs';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/hearth.mjs', import.meta.url));

// The agent runs under V8 flags (lite mode: no WebAssembly) that some libraries cannot load under;
// what the `agent` verb imports must load there without an error on stderr.
describe('the agent verb under the agent node flags', () => {
  it('loads without an unhandled rejection', async () => {
    // Through tsx the loader itself needs WebAssembly: the agent runs from the bundle setup builds.
    const bundle = await currentBundle();
    expect(bundle.why, 'run `node scripts/build-bundles.mjs` (scripts/setup.sh does)').toBeNull();
    const r = await run(process.execPath, [...AGENT_NODE_FLAGS, BIN, 'agent', '--help'], {
      timeout: 60_000,
    });
    expect(r.stdout).toContain('agent');
    expect(r.stderr).not.toContain('unhandled rejection');
  });
});
