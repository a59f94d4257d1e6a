import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { registerFakeHost } from '../../../test/helpers/fake-host.ts';

// A host that is gone for good (its agent answers nothing) is removed; its VMs become `lost` and
// are deleted without the agent.
describeOnBackends('host removal', (db) => {
  const api = useApiPlatform({ db, host: 'gone-host' });

  it('removes an empty host without force', async () => {
    await registerFakeHost(api.p.manager, 'empty-host');
    const r = await api.inject({ method: 'DELETE', url: '/v1/hosts/empty-host' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ name: 'empty-host', lostVms: [] });
    expect((await api.inject({ method: 'GET', url: '/v1/hosts/empty-host' })).statusCode).toBe(404);
  });

  it('refuses a host holding VMs without force, then marks them lost and lets them be deleted', async () => {
    const created = await api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { name: 'stranded', start: false },
    });
    expect(created.statusCode, created.body).toBe(201);
    const vm = created.json();
    expect(vm.host).toBeTruthy();

    const refused = await api.inject({ method: 'DELETE', url: '/v1/hosts/gone-host' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'HOST_NOT_EMPTY',
      message: expect.stringContaining('1 VM(s)'),
      detail: { vms: 1, volumes: 0, snapshots: 0 },
    });

    const removed = await api.inject({ method: 'DELETE', url: '/v1/hosts/gone-host?force=true' });
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json().lostVms).toEqual([vm.id]);
    const lost = (await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}` })).json();
    expect(lost).toMatchObject({ state: 'lost', host: null });
    const events = (await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}/events` })).json();
    expect(events.items.at(-1)).toMatchObject({ to: 'lost' });

    // The old agent credential is gone with the host.
    const beat = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/x/heartbeat',
      headers: { authorization: `Bearer ${api.agentToken}` },
      payload: {},
    });
    expect(beat.statusCode).toBe(401);

    // Deleting the lost VM never calls the gone agent: the record goes.
    const del = await api.inject({ method: 'DELETE', url: `/v1/vms/${vm.id}` });
    expect(del.statusCode, del.body).toBeLessThan(300);
    expect(await api.p.manager.vmService.drain(60_000)).toBe(true);
    expect((await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}` })).statusCode).toBe(404);
    expect(await api.count('vms')).toBe(0);

    // The name is free for a new host.
    await registerFakeHost(api.p.manager, 'gone-host');
  });
});
