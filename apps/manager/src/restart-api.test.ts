import { beforeAll, expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';

// A manager restart with a host whose agent has not spoken since: its last address is not
// trusted, so lifecycle calls are refused as retryable and change nothing (no VM boots here).
describeOnBackends('lifecycle calls after a manager restart, before the host is back', (db) => {
  // No waiting for the host: the answer comes at once.
  const api = useApiPlatform({ db, host: 'gone-host', platform: { manager: { hostWaitMs: 0 } } });
  const inject = (method: string, url: string, payload?: unknown) => api.inject({ method, url, payload });

  beforeAll(async () => {
    expect((await inject('POST', '/v1/vms', { name: 'runner', start: false })).statusCode).toBe(201);
    // As if it had booted before the restart.
    await api.p.manager.db.query(`UPDATE vms SET state = 'running', pid = 4242 WHERE name = 'runner'`);
    await api.p.manager.dispose();
    await api.p.startManager();
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
