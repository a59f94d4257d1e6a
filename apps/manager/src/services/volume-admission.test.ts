import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../../test/helpers/fake-host.ts';

// A host with 3000 MiB free keeps 2048 MiB in reserve (the default): 952 MiB is all a volume may
// claim there, however sparse its file starts.
describeOnBackends('volume disk admission', (db) => {
  const api = useApiPlatform({ db, inventory: { ...fakeInventory, diskFreeMib: 3000 } });

  it('refuses a volume the host has no room for, naming the numbers, and records nothing', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/volumes',
      payload: { name: 'big', size: '2gib' },
    });
    expect(r.statusCode, r.body).toBe(503);
    const body = (r.json() as { error: { code: string; message: string; detail: Record<string, unknown> } })
      .error;
    expect(body.code).toBe('NO_HOST_AVAILABLE');
    expect(body.message).toContain('needs 2048 MiB');
    expect(body.detail).toMatchObject({ constraint: 'disk', needMib: 2048, reserveMib: 2048 });
    expect(await api.count('volumes')).toBe(0);
  });

  it('refuses it on a named host too', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/volumes',
      payload: { name: 'big2', size: '1gib', host: 'fake-host' },
    });
    expect(r.statusCode, r.body).toBe(503);
    expect((r.json() as { error: { detail: { needMib: number } } }).error.detail.needMib).toBe(1024);
    expect(await api.count('volumes')).toBe(0);
  });
});

// The reserve comes from the manager's configuration (parsed once at start), not the environment.
describeOnBackends('volume disk admission with a configured reserve', (db) => {
  const api = useApiPlatform({
    db,
    inventory: { ...fakeInventory, diskFreeMib: 3000 },
    platform: { manager: { diskPolicy: { reserveMib: 2500 } } },
  });

  it('admits against the configured reserve', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/volumes',
      payload: { name: 'mid', size: '1gib' },
    });
    expect(r.statusCode, r.body).toBe(503);
    const body = (r.json() as { error: { message: string; detail: Record<string, unknown> } }).error;
    expect(body.detail).toMatchObject({ constraint: 'disk', needMib: 1024, reserveMib: 2500 });
    expect(body.message).toContain('less a 2500 MiB reserve');
  });
});
