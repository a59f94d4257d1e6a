import { describe, expect, it } from 'vitest';
import type { HostInventory } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';

const inventory: HostInventory = {
  ...fakeInventory,
  vmms: [
    {
      kind: 'firecracker',
      available: false,
      accel: null,
      version: null,
      reason: 'the firecracker binary is not installed',
    },
    ...fakeInventory.vmms,
  ],
};

// The API contract without booting anything: a registered host whose agent is never called
// (every VM here is created with start: false).
describeOnBackends('API', (db) => {
  const api = useApiPlatform({ db, inventory });
  const inject = api.inject;
  const create = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    inject({ method: 'POST', url: '/v1/vms', payload: { start: false, ...body }, headers });
  const vmCount = () => api.count('vms');

  describe('authentication', () => {
    it('rejects a missing token', async () => {
      const r = await api.p.manager.app.inject({ method: 'GET', url: '/v1/vms' });
      expect(r.statusCode).toBe(401);
      expect(r.json().error).toMatchObject({
        code: 'UNAUTHENTICATED',
        hint: expect.stringContaining('admin.token'),
      });
    });
    it('rejects a wrong token', async () => {
      const r = await api.p.manager.app.inject({
        method: 'GET',
        url: '/v1/vms',
        headers: { authorization: 'Bearer nope' },
      });
      expect(r.statusCode).toBe(401);
    });
    it('keeps agent tokens off user routes', async () => {
      const r = await api.p.manager.app.inject({
        method: 'GET',
        url: '/v1/vms',
        headers: { authorization: `Bearer ${api.agentToken}` },
      });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe('FORBIDDEN');
    });
    it('refuses registration without the join token', async () => {
      const r = await api.p.manager.app.inject({
        method: 'POST',
        url: '/v1/hosts/register',
        headers: api.admin(),
        payload: {},
      });
      expect(r.statusCode).toBe(401);
      expect(r.json().error.code).toBe('INVALID_JOIN_TOKEN');
    });
    it('serves health, OpenAPI and docs', async () => {
      expect((await api.p.manager.app.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({
        ok: true,
        database: db,
      });
      const doc = (await api.p.manager.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(doc.paths['/v1/vms'].post.operationId).toBe('createVm');
      const docs = await api.p.manager.app.inject({ method: 'GET', url: '/docs' });
      expect(docs.body).toContain('swagger-ui');
      expect(
        (await api.p.manager.app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' })).statusCode,
      ).toBe(200);
    });
  });

  describe('bad input creates nothing', () => {
    const cases: [string, Record<string, unknown>, number, string, string?][] = [
      ['vcpus 0', { vcpus: 0 }, 400, 'VALIDATION_FAILED', 'vcpus'],
      ['vcpus above the host', { vcpus: 16 }, 422, 'VCPUS_EXCEED_HOST', 'vcpus'],
      ['memory below the minimum', { memoryMib: 16 }, 400, 'VALIDATION_FAILED', 'memoryMib'],
      ['memory above the host', { memoryMib: 100_000 }, 422, 'MEMORY_EXCEEDS_HOST', 'memoryMib'],
      ['unknown image', { image: 'no-such-image' }, 404, 'IMAGE_NOT_FOUND', 'image'],
      ['a kernel as rootfs', { image: 'kernel-default' }, 422, 'IMAGE_KIND_MISMATCH', 'image'],
      ['invalid name', { name: 'Bad_Name!' }, 400, 'VALIDATION_FAILED', 'name'],
      ['unknown field', { color: 'blue' }, 400, 'VALIDATION_FAILED', 'color'],
      ['wrong type', { vcpus: 'two' }, 400, 'VALIDATION_FAILED', 'vcpus'],
      ['unavailable VMM', { vmm: 'firecracker' }, 422, 'VMM_UNAVAILABLE', 'vmm'],
      ['disk smaller than the image', { diskSize: '1mib' }, 400, 'VALIDATION_FAILED', 'diskSize'],
      ['malformed disk size', { diskSize: 'lots' }, 400, 'VALIDATION_FAILED', 'diskSize'],
      ['malformed timeout', { timeout: 'soon' }, 400, 'VALIDATION_FAILED', 'timeout'],
      ['timeout beyond a year', { timeout: '100000000d' }, 400, 'VALIDATION_FAILED', 'timeout'],
      ['disk above 4 TiB', { diskSize: '3000tb' }, 400, 'VALIDATION_FAILED', 'diskSize'],
      ['absurd disk size', { diskSize: '9'.repeat(400) }, 400, 'VALIDATION_FAILED', 'diskSize'],
    ];
    it.each(cases)('%s', async (_label, body, status, code, field) => {
      const before = await vmCount();
      const r = await create(body);
      expect(r.statusCode).toBe(status);
      const e = r.json().error;
      expect(e.code).toBe(code);
      expect(e.hint).toBeTruthy();
      expect(e.requestId).toMatch(/^req_/);
      if (field) expect(Object.keys(e.fields ?? {})).toContain(field);
      expect(await vmCount()).toBe(before);
    });

    it('says why an unavailable VMM cannot be used', async () => {
      const e = (await create({ vmm: 'firecracker' })).json().error;
      expect(e.code).toBe('VMM_UNAVAILABLE');
      expect(e.message).toContain('fake-host: the firecracker binary is not installed');
    });

    it('malformed JSON', async () => {
      const r = await inject({
        method: 'POST',
        url: '/v1/vms',
        payload: '{"name": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('INVALID_JSON');
    });

    it('unknown route', async () => {
      const r = await inject({ method: 'GET', url: '/v1/nothing' });
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('ROUTE_NOT_FOUND');
    });
  });

  describe('VM records', () => {
    it('creates with defaults, a unique address and a sortable id', async () => {
      const r = await create({ name: 'rec-a' });
      expect(r.statusCode).toBe(201);
      const vm = r.json();
      expect(vm).toMatchObject({
        name: 'rec-a',
        state: 'created',
        vcpus: 1,
        memoryMib: 128,
        diskMib: 1024,
        vmm: 'qemu',
        project: 'default',
      });
      expect(vm.id).toMatch(/^vm_[0-9a-z]{26}$/);
      const b = (await create({ name: 'rec-b' })).json();
      expect(b.id > vm.id).toBe(true);
      expect(b.ip).not.toBe(vm.ip);
    });

    it('refuses a duplicate name in the same project, allows it in another', async () => {
      const dup = await create({ name: 'rec-a' });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().error.code).toBe('VM_NAME_TAKEN');
      // Projects are namespaces that exist before anything is put in them.
      expect((await create({ name: 'rec-a', project: 'other' })).json().error.code).toBe('PROJECT_NOT_FOUND');
      await api.p.manager.stores.projects.create('other');
      const other = await create({ name: 'rec-a', project: 'other' });
      expect(other.statusCode).toBe(201);
      expect(other.json().project).toBe('other');
    });

    it('replays an Idempotency-Key and refuses it for another body', async () => {
      const h = { 'idempotency-key': 'key-1' };
      const first = await create({ name: 'idem' }, h);
      const again = await create({ name: 'idem' }, h);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().id).toBe(first.json().id);
      const other = await create({ name: 'idem-2' }, h);
      expect(other.statusCode).toBe(422);
      expect(other.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('gets by id or name and 404s on unknown', async () => {
      const byName = (await inject({ method: 'GET', url: '/v1/vms/rec-a' })).json();
      const byId = (await inject({ method: 'GET', url: `/v1/vms/${byName.id}` })).json();
      expect(byId.name).toBe('rec-a');
      const missing = await inject({ method: 'GET', url: '/v1/vms/ghost' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('VM_NOT_FOUND');
    });

    it('paginates and filters', async () => {
      for (let i = 0; i < 4; i++) await create({ name: `page-${i}` });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await inject({ method: 'GET', url: `/v1/vms?limit=3${cursor ? `&cursor=${cursor}` : ''}` });
        const page = r.json();
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((v: { id: string }) => v.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...seen].sort());
      // The list is the request's project's (other tests put VMs in another project too).
      const inDefault = await api.p.manager.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM vms WHERE project = 'default'",
      );
      expect(seen.length).toBe(inDefault[0]!.n);
      const filtered = (await inject({ method: 'GET', url: '/v1/vms?name=page-&project=default' })).json();
      expect(filtered.items.map((v: { name: string }) => v.name)).toEqual([
        'page-0',
        'page-1',
        'page-2',
        'page-3',
      ]);
      const bad = await inject({ method: 'GET', url: '/v1/vms?limit=0' });
      expect(bad.json().error.code).toBe('VALIDATION_FAILED');
      const badCursor = await inject({ method: 'GET', url: '/v1/vms?cursor=%25%25' });
      expect(badCursor.statusCode).toBe(400);
    });

    it('refuses actions in the wrong state with 409 and what is allowed', async () => {
      const r = await inject({ method: 'POST', url: '/v1/vms/rec-a/pause' });
      expect(r.statusCode).toBe(409);
      expect(r.json().error).toMatchObject({
        code: 'VM_INVALID_STATE',
        detail: { state: 'created', allowedFrom: ['running'] },
      });
      const resume = await inject({ method: 'POST', url: '/v1/vms/rec-a/resume' });
      expect(resume.json().error.code).toBe('VM_INVALID_STATE');
    });

    it('patches name, size and labels while stopped, and records it', async () => {
      const r = await inject({
        method: 'PATCH',
        url: '/v1/vms/rec-b',
        payload: { name: 'rec-b2', vcpus: 2, memoryMib: 256, labels: { team: 'a' } },
      });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ name: 'rec-b2', vcpus: 2, memoryMib: 256, labels: { team: 'a' } });
      const tooBig = await inject({ method: 'PATCH', url: '/v1/vms/rec-b2', payload: { vcpus: 8 } });
      expect(tooBig.json().error.code).toBe('VCPUS_EXCEED_HOST');
      const clash = await inject({ method: 'PATCH', url: '/v1/vms/rec-b2', payload: { name: 'rec-a' } });
      expect(clash.json().error.code).toBe('VM_NAME_TAKEN');
      const events = (await inject({ method: 'GET', url: '/v1/vms/rec-b2/events' })).json();
      expect(events.items.map((e: { type: string }) => e.type)).toEqual(['created', 'state', 'patched']);
      const badCursor = await inject({
        method: 'GET',
        url: `/v1/vms/rec-b2/events?cursor=${Buffer.from('x').toString('base64url')}`,
      });
      expect(badCursor.statusCode).toBe(400);
      const timeout = await inject({ method: 'PATCH', url: '/v1/vms/rec-b2', payload: { timeout: '30m' } });
      expect(timeout.json()).toMatchObject({ timeout: '30m', stopAt: null });
    });

    it('times out a wait with 408', async () => {
      const r = await inject({ method: 'GET', url: '/v1/vms/rec-a/wait?state=running&timeout=0.2' });
      expect(r.statusCode).toBe(408);
      expect(r.json().error.code).toBe('WAIT_TIMEOUT');
    });

    it('lists hosts with inventory and allocation, and images with the built-ins', async () => {
      const hosts = (await inject({ method: 'GET', url: '/v1/hosts' })).json();
      expect(hosts.items[0]).toMatchObject({ name: 'fake-host', state: 'ready', inventory: { cpus: 2 } });
      expect(hosts.items[0].vmCount).toBeGreaterThan(0);
      const images = (await inject({ method: 'GET', url: '/v1/images' })).json();
      const names = images.items.map((i: { name: string }) => i.name).sort();
      expect(names).toEqual(['base', 'initrd-debian', 'kernel-debian', 'kernel-default']);
      expect(
        images.items.every(
          (i: { sha256: string; sizeBytes: number }) => i.sha256.length === 64 && i.sizeBytes > 0,
        ),
      ).toBe(true);
    });

    it('keeps the admin token file private', async () => {
      const { stat } = await import('node:fs/promises');
      const s = await stat(`${api.p.dir}/manager/admin.token`);
      expect(s.mode & 0o777).toBe(0o600);
    });
  });
});
