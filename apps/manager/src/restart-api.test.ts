import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../../../test/helpers/platform.ts';
import { registerFakeHost } from '../../../test/helpers/fake-host.ts';

// A manager restart with a host whose agent has not spoken since: its last address is not
// trusted, so lifecycle calls are refused as retryable and change nothing (no VM boots here).
describe('lifecycle calls after a manager restart, before the host is back', () => {
  let p: Platform;
  let admin: Record<string, string>;
  const inject = (method: string, url: string, payload?: unknown) =>
    p.manager.app.inject({ method, url, payload, headers: admin } as never);

  beforeAll(async () => {
    // No waiting for the host: the answer comes at once.
    p = await startPlatform({ agent: false, manager: { hostWaitMs: 0 } });
    admin = { authorization: `Bearer ${p.manager.adminToken}` };
    await registerFakeHost(p.manager, 'gone-host');
    expect((await inject('POST', '/v1/vms', { name: 'runner', start: false })).statusCode).toBe(201);
    // As if it had booted before the restart.
    await p.manager.db.query(`UPDATE vms SET state = 'running', pid = 4242 WHERE name = 'runner'`);
    await p.manager.dispose();
    await p.startManager();
    admin = { authorization: `Bearer ${p.manager.adminToken}` };
  });
  afterAll(async () => {
    await p?.dispose();
  });

  it('lists the host offline until its agent speaks again', async () => {
    const hosts = (await inject('GET', '/v1/hosts')).json().items as { name: string; state: string }[];
    expect(hosts.find((h) => h.name === 'gone-host')?.state).toBe('offline');
  });

  it('answers stop and delete with a retryable 503 and leaves the VM as it was', async () => {
    for (const [method, url] of [
      ['POST', '/v1/vms/runner/stop'],
      ['DELETE', '/v1/vms/runner'],
    ] as const) {
      const r = await inject(method, url, method === 'POST' ? {} : undefined);
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.json().error).toMatchObject({ code: 'HOST_UNAVAILABLE', hint: expect.any(String) });
      expect(r.json().error.message).toMatch(/^(Stopping|Deleting) VM "runner" failed: /);
    }
    const vm = (await inject('GET', '/v1/vms/runner')).json();
    expect(vm).toMatchObject({ state: 'running', pid: 4242, stateReason: null });
    const events = (await inject('GET', `/v1/vms/${vm.id}/events?limit=100`)).json().items as {
      to: string | null;
    }[];
    expect(events.some((e) => e.to === 'failed' || e.to === 'stopping' || e.to === 'deleting')).toBe(false);
  });
});
