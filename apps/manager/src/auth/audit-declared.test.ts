import { expect, it } from 'vitest';
import type { AuditRecord } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';

// Routes outside the contract (the E2B control plane) in the same audit trail, by auditAs: no VM
// needed for the calls that fail (the e2e test test/e2e/e2b-sdk-ops.test.ts has the successes).
describeOnBackends('audit of declared routes', (db) => {
  const api = useApiPlatform({ db });
  const call = (method: string, url: string, headers: Record<string, string>) =>
    api.p.manager.app.inject({ method, url, headers } as never);

  it('records the E2B control calls that change state, and refusals of any', async () => {
    const key = { 'x-api-key': api.p.manager.adminToken };
    const bad = { 'x-api-key': 'e2b_0000' };
    const id = `nosuch${db}`;
    expect((await call('DELETE', `/e2b/sandboxes/${id}`, bad)).statusCode).toBe(401);
    expect((await call('DELETE', `/e2b/sandboxes/${id}`, key)).statusCode).toBe(404);
    expect((await call('POST', `/e2b/sandboxes/${id}/pause`, key)).statusCode).toBe(404);
    expect((await call('GET', `/e2b/sandboxes/${id}`, key)).statusCode).toBe(404);
    expect((await call('GET', `/e2b/sandboxes/${id}`, bad)).statusCode).toBe(401);
    let mine: AuditRecord[] = [];
    await expect
      .poll(
        async () => {
          const items = (await call('GET', '/v1/audit?limit=500&all=true', api.admin())).json()
            .items as AuditRecord[];
          mine = items.filter((r) => r.target === id).reverse();
          return mine.length;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThanOrEqual(4);
    // The read that was answered is not recorded; the one refused for its key is.
    expect(mine.map((r) => [r.action, r.method, r.outcome, r.status, r.actor.kind])).toEqual([
      ['e2bKillSandbox', 'DELETE', 'denied', 401, 'anonymous'],
      ['e2bKillSandbox', 'DELETE', 'failure', 404, 'admin'],
      ['e2bPauseSandbox', 'POST', 'failure', 404, 'admin'],
      ['e2bGetSandbox', 'GET', 'denied', 401, 'anonymous'],
    ]);
    expect(mine[1]).toMatchObject({ path: `/e2b/sandboxes/${id}`, project: 'default' });
  });
});
