import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { AgentCredentials } from '@hearth/contract';
import { buildAgentApp } from './app.ts';
import type { Supervisor } from './vm/index.ts';

describe('credential rotation on the agent', () => {
  it('persists the new pair, then accepts the old callback token only until the new one is used', async () => {
    const old = 'o'.repeat(32);
    const next: AgentCredentials = { agentToken: 'a'.repeat(32), callbackToken: 'n'.repeat(32) };
    const persisted: AgentCredentials[] = [];
    const sup = { list: () => [] } as unknown as Supervisor;
    const app = buildAgentApp({
      supervisor: sup,
      callbackToken: old,
      rotate: async (c) => void persisted.push(c),
      log: pino({ level: 'silent' }),
    });
    const list = (token: string) =>
      app.inject({ method: 'GET', url: '/agent/v1/vms', headers: { authorization: `Bearer ${token}` } });
    const rotate = await app.inject({
      method: 'POST',
      url: '/agent/v1/credentials',
      headers: { authorization: `Bearer ${old}` },
      payload: next,
    });
    expect(rotate.statusCode, rotate.body).toBe(200);
    expect(persisted).toEqual([next]);
    // The manager may not have heard the answer: the old token still works...
    expect((await list(old)).statusCode).toBe(200);
    // ...until the new one is used; from then on only the new one does.
    expect((await list(next.callbackToken)).statusCode).toBe(200);
    expect((await list(old)).statusCode).toBe(401);
    expect((await list(next.callbackToken)).statusCode).toBe(200);
    await app.close();
  });

  it('refuses a certificate in a rotation when it serves none the manager issues, and changes nothing', async () => {
    const old = 'o'.repeat(32);
    const persisted: AgentCredentials[] = [];
    const app = buildAgentApp({
      supervisor: { list: () => [] } as unknown as Supervisor,
      callbackToken: old,
      https: null,
      rotate: async (c) => void persisted.push(c),
      log: pino({ level: 'silent' }),
    });
    const r = await app.inject({
      method: 'POST',
      url: '/agent/v1/credentials',
      headers: { authorization: `Bearer ${old}` },
      payload: {
        agentToken: 'a'.repeat(32),
        callbackToken: 'n'.repeat(32),
        tls: { ca: 'ca', cert: 'cert', key: 'key' },
      },
    });
    expect(r.statusCode).toBe(500);
    expect(r.body).toContain('not one the manager issues');
    expect(persisted).toEqual([]);
    await app.close();
  });
});
