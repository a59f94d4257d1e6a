import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { agentRoutes, type AgentRouteDef } from '@hearth/contract';
import { buildAgentApp } from '../app.ts';
import type { Supervisor } from '../vm/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-table-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Every `METHOD path` the router holds, read from Fastify's route tree: each line is a node
 * (`├── /segment (GET, HEAD)`), indented four columns per level below its parent.
 */
function registered(tree: string): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack.push(path);
    for (const method of m[3]?.split(', ') ?? []) {
      // Fastify adds HEAD to every GET by itself.
      if (method !== 'HEAD') out.add(`${method} ${path}`);
    }
  }
  return out;
}

describe("the agent's routes", () => {
  it('are exactly the routes of the contract table', async () => {
    const sup = { dataDir: dir } as unknown as Supervisor;
    const app = buildAgentApp({ supervisor: sup, callbackToken: 't', log: pino({ level: 'silent' }) });
    await app.ready();
    const served = [...registered(app.printRoutes({ commonPrefix: false }))].filter((r) =>
      r.split(' ')[1]!.startsWith('/agent/v1/'),
    );
    const table = (Object.values(agentRoutes) as AgentRouteDef[]).map((r) => `${r.method} ${r.path}`);
    expect(new Set(table).size).toBe(table.length);
    expect(served.sort()).toEqual(table.sort());
    await app.close();
  });
});
