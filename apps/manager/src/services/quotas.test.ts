import { expect, it } from 'vitest';
import { newId } from '@hearth/contract';
import type { ProjectQuotas } from '../db/schema.ts';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { usageOf } from '../store/usage.ts';
import { Quotas } from './quotas.ts';

let seq = 0;

describeOnBackends('quotas', (db) => {
  const api = useApiPlatform({ db });
  const m = () => api.p.manager;
  /** A fresh project with these quotas (each test its own, so uses never mix). */
  const project = async (quotas: ProjectQuotas) => {
    const name = `quota-${db}-${process.pid}-${++seq}`;
    await m().stores.projects.create(name, { quotas });
    return name;
  };
  const createVm = (p: string, body: Record<string, unknown> = {}) =>
    api.inject({ method: 'POST', url: '/v1/vms', payload: { start: false, project: p, ...body } });
  const refusal = (r: { statusCode: number; json: () => { error: { code: string; detail: unknown } } }) => {
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('QUOTA_EXCEEDED');
    return r.json().error.detail;
  };

  it('refuses a VM past the vms, vcpus, memory, disk or published-port quota, naming it', async () => {
    const vms = await project({ vms: 1 });
    expect((await createVm(vms)).statusCode).toBe(201);
    const r = await createVm(vms);
    expect(r.json().error.message).toContain('vms quota');
    expect(refusal(r)).toEqual({ quota: 'vms', used: 1, requested: 1, limit: 1, project: vms });

    const vcpus = await project({ vcpus: 1 });
    expect(refusal(await createVm(vcpus, { vcpus: 2 }))).toEqual({
      quota: 'vcpus',
      used: 0,
      requested: 2,
      limit: 1,
      project: vcpus,
    });
    const mem = await project({ memoryMib: 1000 });
    expect(refusal(await createVm(mem, { memoryMib: 1024 }))).toMatchObject({
      quota: 'memoryMib',
      requested: 1024,
      limit: 1000,
    });
    const disk = await project({ diskMib: 1 });
    expect(refusal(await createVm(disk))).toMatchObject({ quota: 'diskMib', used: 0, limit: 1 });
    const ports = await project({ publishedPorts: 1 });
    const two = [
      { host: 18080, guest: 80 },
      { host: 18443, guest: 443 },
    ];
    expect(refusal(await createVm(ports, { ports: two }))).toEqual({
      quota: 'publishedPorts',
      used: 0,
      requested: 2,
      limit: 1,
      project: ports,
    });
    // Nothing of a refused create is left behind.
    expect((await usageOf(m().db, ports)).vms).toBe(0);
  });

  it('counts what a VM change adds: memory, published ports', async () => {
    const p = await project({ memoryMib: 1024, publishedPorts: 1 });
    const vm = (await createVm(p, { memoryMib: 512, ports: [{ host: 18081, guest: 80 }] })).json();
    const patch = (payload: unknown) =>
      api.inject({ method: 'PATCH', url: `/v1/vms/${vm.id}`, payload, headers: { 'x-hearth-project': p } });
    expect(refusal(await patch({ memoryMib: 2048 }))).toEqual({
      quota: 'memoryMib',
      used: 512,
      requested: 1536,
      limit: 1024,
      project: p,
    });
    const more = [
      { host: 18081, guest: 80 },
      { host: 18082, guest: 81 },
    ];
    expect(refusal(await patch({ ports: more }))).toMatchObject({
      quota: 'publishedPorts',
      used: 1,
      requested: 1,
    });
    // Within the quota it changes; shrinking never asks the quota.
    expect((await patch({ memoryMib: 1024 })).statusCode).toBe(200);
    expect((await patch({ memoryMib: 256, ports: [] })).statusCode).toBe(200);
    expect(await usageOf(m().db, p)).toMatchObject({ memoryMib: 256, publishedPorts: 0 });
  });

  it('refuses volumes, volume growth and snapshots past their quotas', async () => {
    const none = await project({ volumes: 0 });
    const vol = await api.inject({
      method: 'POST',
      url: '/v1/volumes',
      payload: { name: 'v', project: none },
    });
    expect(refusal(vol)).toEqual({ quota: 'volumes', used: 0, requested: 1, limit: 0, project: none });

    const disk = await project({ diskMib: 1500 });
    const big = await api.inject({
      method: 'POST',
      url: '/v1/volumes',
      payload: { name: 'big', project: disk, size: '2gb' },
    });
    expect(refusal(big)).toMatchObject({ quota: 'diskMib', used: 0, requested: 2048, limit: 1500 });
    // An existing volume (the fake host makes no files): growing it counts the difference.
    const host = (await m().stores.hosts.all())[0]!;
    const row = await m().stores.volumes.insert({
      id: newId('vol'),
      name: 'grow',
      project: disk,
      size_mib: 1024,
      format: 'raw',
      host_id: host.id,
      image_id: null,
    });
    const grow = await api.inject({
      method: 'POST',
      url: `/v1/volumes/${row.id}/resize`,
      payload: { size: '2gb' },
      headers: { 'x-hearth-project': disk },
    });
    expect(refusal(grow)).toEqual({
      quota: 'diskMib',
      used: 1024,
      requested: 1024,
      limit: 1500,
      project: disk,
    });
    expect((await m().stores.volumes.require(row.id, disk)).size_mib).toBe(1024);

    const snaps = await project({ snapshots: 0 });
    const vm = (await createVm(snaps)).json();
    await m().stores.vms.transition(vm.id, 'created', 'running', 'test');
    const snap = await api.inject({
      method: 'POST',
      url: `/v1/vms/${vm.id}/snapshots`,
      payload: {},
      headers: { 'x-hearth-project': snaps },
    });
    expect(refusal(snap)).toEqual({ quota: 'snapshots', used: 0, requested: 1, limit: 0, project: snaps });
  });

  it('refuses a network past the networks quota (a shared network counts for nobody)', async () => {
    const p = await project({ networks: 1 });
    const quotas = new Quotas(m().db);
    const insert = (name: string, proj: string | null) =>
      quotas.within(proj, { networks: 1 }, 'Creating the network', (tx) =>
        m().stores.networks.insert(
          {
            id: newId('net'),
            name,
            project: proj,
            mode: 'isolated',
            cidr: null,
            gateway: null,
            dns: [],
            iface: null,
            vlan: null,
            vni: null,
            port: null,
            bridge: `hq${seq}${name}`.slice(0, 15),
            is_default: false,
          },
          tx,
        ),
      );
    await insert('n1', p);
    await expect(insert('n2', p)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      detail: { quota: 'networks', used: 1, requested: 1, limit: 1, project: p },
    });
    await insert(`shared-${db}-${seq}`, null);
  });

  it('lets exactly as many of 20 parallel creates succeed as the vms quota allows', async () => {
    const p = await project({ vms: 7 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createVm(p, { name: `par-${i}` })),
    );
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(7);
    expect(codes.filter((c) => c === 409)).toHaveLength(13);
    for (const r of results.filter((x) => x.statusCode === 409)) {
      expect(r.json().error).toMatchObject({ code: 'QUOTA_EXCEEDED', detail: { quota: 'vms', limit: 7 } });
    }
    expect((await usageOf(m().db, p)).vms).toBe(7);
  });

  it('a limit set while parallel creates run in a project without one is never overshot by a later create', async () => {
    const p = await project({});
    const creates = Array.from({ length: 20 }, (_, i) => createVm(p, { name: `lim-${i}` }));
    // The limit lands while the creates run: once its UPDATE has the row (the creates that saw no
    // limit hold it shared until they commit), it counts what exists; any create after it must
    // be refused past the limit.
    const atLimit = await m().db.transaction(async (tx) => {
      await tx.query(`UPDATE projects SET quotas = '{"vms": 3}'::jsonb WHERE name = $1`, [p]);
      const rows = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM vms WHERE project = $1`, [
        p,
      ]);
      return rows[0]!.n;
    });
    const results = await Promise.all(creates);
    for (const r of results) expect([201, 409]).toContain(r.statusCode);
    const made = results.filter((r) => r.statusCode === 201).length;
    expect((await usageOf(m().db, p)).vms).toBe(made);
    expect(made).toBeLessThanOrEqual(Math.max(3, atLimit));
    for (const r of results.filter((x) => x.statusCode === 409)) {
      expect(r.json().error).toMatchObject({ code: 'QUOTA_EXCEEDED', detail: { quota: 'vms', limit: 3 } });
    }
  });

  it('follows a limit set or removed by someone else after its last create in the project', async () => {
    const p = await project({});
    // This process last saw the project without limits: the next create guesses a shared lock.
    expect((await createVm(p, { name: 'seen-free' })).statusCode).toBe(201);
    await m().db.query(`UPDATE projects SET quotas = '{"vms": 1}'::jsonb WHERE name = $1`, [p]);
    expect(refusal(await createVm(p, { name: 'past-limit' }))).toMatchObject({ quota: 'vms', used: 1 });
    // Now it last saw the limit; removed behind its back, creates are admitted again.
    await m().db.query(`UPDATE projects SET quotas = '{}'::jsonb WHERE name = $1`, [p]);
    const after = await Promise.all([1, 2, 3].map((i) => createVm(p, { name: `freed-${i}` })));
    expect(after.map((r) => r.statusCode)).toEqual([201, 201, 201]);
    expect((await usageOf(m().db, p)).vms).toBe(4);
  });

  it('parallel creates in a project without limits get distinct addresses', async () => {
    const p = await project({});
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => createVm(p, { name: `free-${i}` })),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(12).fill(201));
    const ips = results.map((r) => (r.json() as { ip: string | null }).ip);
    expect(new Set(ips).size).toBe(12);
  });

  it('gives the use back when resources go', async () => {
    const p = await project({ vms: 2, vcpus: 2 });
    const a = (await createVm(p)).json();
    expect((await createVm(p)).statusCode).toBe(201);
    expect(refusal(await createVm(p))).toMatchObject({ quota: 'vms', used: 2 });
    expect(await usageOf(m().db, p)).toMatchObject({ vms: 2, vcpus: 2 });
    // What a delete ends with once the host removed the VM.
    await m().stores.vms.remove(a.id);
    expect(await usageOf(m().db, p)).toMatchObject({ vms: 1, vcpus: 1 });
    expect((await createVm(p)).statusCode).toBe(201);
  });
});
