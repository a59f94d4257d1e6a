import { expect, it } from 'vitest';
import { CreateVmBody, HearthError } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';

// The names a VM's networks' DNS forwarders publish, as the manager hands them to the agent: the
// aliases a service sets at create (the public body has no such field), the rule per network.
describeOnBackends('DNS names in the agent spec', (db) => {
  const api = useApiPlatform({ db });
  const create = (body: Record<string, unknown>, dnsAliases?: string[]) =>
    api.p.manager.vmService.create(
      { ...CreateVmBody.parse({ start: false, ...body }), ...(dnsAliases ? { dnsAliases } : {}) },
      'default',
      'test',
    );

  it("carries the VM's names and aliases: bare on a project network, project-qualified on the shared one", async () => {
    const net = await api.inject({
      method: 'POST',
      url: '/v1/networks',
      payload: { name: 'app', mode: 'nat', cidr: '10.233.7.0/24' },
    });
    expect(net.statusCode).toBe(201);
    const vm = await create({ name: 'db1', networks: ['default', 'app'] }, ['db', 'postgres', 'db']);
    const row = await api.p.manager.stores.vms.require(vm.id, 'default');
    expect(row.dns_aliases).toEqual(['db', 'postgres']);
    const spec = await api.p.manager.vmService.specFor(row);
    expect(spec.nics.map((n) => [n.network.name, n.dnsNames, n.dnsAliases])).toEqual([
      [
        'default',
        ['db1.default.default.hearth'],
        ['db.default.default.hearth', 'postgres.default.default.hearth'],
      ],
      ['app', ['db1.app.hearth', 'db1'], ['db.app.hearth', 'db', 'postgres.app.hearth', 'postgres']],
    ]);
    // A VM created without aliases has its own names only.
    const plain = await create({ name: 'web1', networks: ['app'] });
    const plainSpec = await api.p.manager.vmService.specFor(
      await api.p.manager.stores.vms.require(plain.id, 'default'),
    );
    expect(plainSpec.nics[0]).toMatchObject({ dnsNames: ['web1.app.hearth', 'web1'], dnsAliases: [] });
  });

  it('refuses aliases that are not DNS labels, and the field in the public create body', async () => {
    const bad = await create({ name: 'bad1' }, ['Not_A_Label']).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(HearthError);
    expect((bad as HearthError).code).toBe('VALIDATION_FAILED');
    expect((bad as HearthError).message).toContain('Not_A_Label');
    const tooMany = await create(
      { name: 'bad2' },
      Array.from({ length: 9 }, (_, i) => `a${i}`),
    ).catch((e: unknown) => e);
    expect((tooMany as HearthError).code).toBe('VALIDATION_FAILED');
    const pub = await api.inject({
      method: 'POST',
      url: '/v1/vms',
      payload: { name: 'pub1', start: false, dnsAliases: ['db'] },
    });
    expect(pub.statusCode).toBe(400);
    expect(await api.count('vms')).toBe(2);
  });
});
