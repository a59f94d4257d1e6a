import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { HearthError, routes, type AuditRecord } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser } from '../../../../test/helpers/identity.ts';
import { installErrorHandling, serve } from '../http.ts';
import { installAudit } from './audit.ts';
import { Authority } from './authority.ts';

const PASSWORD = 'correct horse battery staple';

describeOnBackends('audit', (db) => {
  const api = useApiPlatform({ db });
  const m = () => api.p.manager;
  const call = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
    m().app.inject({ method, url, headers, payload } as never);
  /** The records of one project (or all), oldest first, once `n` are there (writes trail responses). */
  const trail = async (n: number, query: string, headers = api.admin()) => {
    let items: AuditRecord[] = [];
    await expect
      .poll(
        async () => {
          items = (await call('GET', `/v1/audit?limit=500&${query}`, headers)).json().items;
          return items.length;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThanOrEqual(n);
    return [...items].reverse();
  };

  it('records a scripted session in order: create, stop, delete, denied write', async () => {
    const project = `audit-${db}-${process.pid}`;
    const op = await makeUser(m().stores, { roles: { [project]: 'operator' } });
    const viewer = await makeUser(m().stores, { roles: { [project]: 'viewer' } });
    const created = await call('POST', '/v1/vms', op.headers(project), { start: false, project });
    expect(created.statusCode).toBe(201);
    const vm = created.json().id as string;
    const stop = await call('POST', `/v1/vms/${vm}/stop`, op.headers(project));
    const del = await call('DELETE', `/v1/vms/${vm}`, op.headers(project));
    const denied = await call('POST', '/v1/vms', viewer.headers(project), { start: false, project });
    expect(denied.statusCode).toBe(403);
    const read = await call('GET', `/v1/vms/${vm}/events`, viewer.headers(project));
    expect(read.statusCode).toBe(200);

    const owner = await makeUser(m().stores, { roles: { [project]: 'owner' } });
    const got = await trail(4, `project=${project}`, owner.headers(project));
    expect(got.map((r) => r.action)).toEqual(['createVm', 'stopVm', 'deleteVm', 'createVm']);
    const [c, s, d, x] = got as [AuditRecord, AuditRecord, AuditRecord, AuditRecord];
    expect(c).toMatchObject({
      actor: { kind: 'user', id: op.id, name: op.name },
      source: '127.0.0.1',
      method: 'POST',
      path: '/v1/vms',
      target: vm,
      project,
      outcome: 'success',
      status: 201,
      code: null,
      requestId: expect.stringMatching(/^req_/),
    });
    expect(c.tokenId).toEqual(expect.any(String));
    expect(s).toMatchObject({ path: `/v1/vms/${vm}/stop`, target: vm, status: stop.statusCode });
    if (stop.statusCode >= 400) expect(s).toMatchObject({ outcome: 'failure', code: stop.json().error.code });
    expect(d).toMatchObject({ method: 'DELETE', target: vm, status: del.statusCode });
    expect(x).toMatchObject({
      actor: { name: viewer.name },
      outcome: 'denied',
      status: 403,
      code: 'ROLE_REQUIRED',
      project,
    });
    expect(c.seq).toBeLessThan(s.seq);

    // Filters and pages.
    const mine = await call('GET', `/v1/audit?actor=${op.name}&action=createVm`, owner.headers(project));
    expect(mine.json().items.map((r: AuditRecord) => r.id)).toEqual([c.id]);
    const deniedOnly = await call('GET', '/v1/audit?outcome=denied', owner.headers(project));
    expect(deniedOnly.json().items.map((r: AuditRecord) => r.id)).toEqual([x.id]);
    const p1 = (await call('GET', '/v1/audit?limit=2', owner.headers(project))).json();
    const p2 = (
      await call('GET', `/v1/audit?limit=2&cursor=${p1.nextCursor}`, owner.headers(project))
    ).json();
    expect([...p1.items, ...p2.items].map((r: AuditRecord) => r.id)).toEqual([x.id, d.id, s.id, c.id]);
    expect(p2.nextCursor).toBeNull();

    // Only owners read the trail; only administrators read all of it.
    expect((await call('GET', '/v1/audit', op.headers(project))).statusCode).toBe(403);
    const all = await call('GET', '/v1/audit?all=true', owner.headers(project));
    expect(all.json().error.code).toBe('ADMIN_REQUIRED');
  });

  it("files an administrator's changes to a project in that project's trail", async () => {
    const project = `audit-admin-${db}-${process.pid}`;
    const created = await call('POST', '/v1/projects', api.admin(), { name: project });
    expect(created.statusCode).toBe(201);
    const patched = await call('PATCH', `/v1/projects/${project}`, api.admin(), { quotas: { vms: 3 } });
    expect(patched.statusCode).toBe(200);
    const owner = await makeUser(m().stores, { roles: { [project]: 'owner' } });
    const got = await trail(1, `project=${project}&action=patchProject`, owner.headers(project));
    expect(got[0]).toMatchObject({ action: 'patchProject', project, target: project, status: 200 });
  });

  it('records denied reads and sign-ins by the name tried, and never a secret', async () => {
    // A viewer opening a shell is refused before any upgrade.
    const project = `audit-ws-${db}-${process.pid}`;
    const viewer = await makeUser(m().stores, { roles: { [project]: 'viewer' } });
    const vm = (await call('POST', '/v1/vms', api.admin(), { start: false, project })).json().id as string;
    const shell = await call('GET', `/v1/vms/${vm}/shell`, viewer.headers(project));
    expect(shell.statusCode).toBe(403);

    // Sign-in through the audited serve() path, with a stand-in for the password check.
    const stores = m().stores;
    const app = Fastify({ genReqId: () => `req_login${Math.random().toString(36).slice(2, 8)}` });
    installErrorHandling(app);
    installAudit(app, { store: stores.audit, auth: new Authority(stores) });
    serve(app, new Authority(stores), routes.login, async ({ body }) => {
      if (body.password !== PASSWORD) throw new HearthError('INVALID_CREDENTIALS', 'Signing in failed.');
      return {
        user: { id: viewer.id, name: viewer.name },
        expiresAt: null,
        csrf: 'csrf-secret-value',
        token: 'hearth_secret_issued_token',
      };
    });
    const login = (password: string) =>
      app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: viewer.name, password } });
    expect((await login('wrong-password-guess')).statusCode).toBe(401);
    expect((await login(PASSWORD)).statusCode).toBe(200);
    await app.close();

    const records = await trail(2, `all=true&target=${vm}`).then(async (onVm) => [
      ...onVm,
      ...(await trail(2, 'all=true&action=login')),
    ]);
    const ws = records.find((r) => r.action === 'vmShell')!;
    expect(ws).toMatchObject({
      actor: { name: viewer.name },
      method: 'GET',
      path: `/v1/vms/${vm}/shell`,
      outcome: 'denied',
      code: 'ROLE_REQUIRED',
      project,
    });
    const [failed, ok] = records.filter((r) => r.action === 'login') as [AuditRecord, AuditRecord];
    expect(failed).toMatchObject({
      actor: { kind: 'anonymous', id: null, name: viewer.name },
      outcome: 'denied',
      status: 401,
      code: 'INVALID_CREDENTIALS',
      project: null,
    });
    expect(ok).toMatchObject({ actor: { kind: 'user', id: viewer.id }, outcome: 'success', status: 200 });

    const rows = JSON.stringify(await m().db.query('SELECT * FROM audit'));
    for (const secret of [
      viewer.token,
      PASSWORD,
      'wrong-password-guess',
      'hearth_secret_issued_token',
      'csrf-secret',
    ]) {
      expect(rows).not.toContain(secret);
    }
    expect(rows).not.toContain(m().adminToken);
  });

  it('records a console WebSocket opened', async () => {
    const project = `audit-console-${db}-${process.pid}`;
    const viewer = await makeUser(m().stores, { roles: { [project]: 'viewer' } });
    const vm = (await call('POST', '/v1/vms', api.admin(), { start: false, project })).json().id as string;
    const app = m().app as unknown as {
      injectWS: (path: string, ctx: { headers: Record<string, string> }) => Promise<{ terminate(): void }>;
    };
    const ws = await app.injectWS(`/v1/vms/${vm}/console`, { headers: viewer.headers(project) });
    ws.terminate();
    const [opened] = await trail(1, `all=true&action=vmConsole&target=${vm}`);
    expect(opened).toMatchObject({
      actor: { kind: 'user', id: viewer.id },
      method: 'GET',
      path: `/v1/vms/${vm}/console`,
      project,
      outcome: 'success',
      status: 101,
    });
  });

  it('records a refused request whose path holds a NUL character, escaped', async () => {
    const project = `audit-nul-${db}-${process.pid}`;
    await m().stores.projects.create(project);
    const bad = await call('POST', '/v1/vms/a%00b/start', { ...api.admin(), 'x-hearth-project': project });
    expect(bad.statusCode).toBe(400);
    const [r] = await trail(1, `project=${project}`);
    expect(r).toMatchObject({ action: 'startVm', target: 'a\\u0000b', status: 400, outcome: 'failure' });
  });

  it('sweeps records past the retention', async () => {
    await m().db.query(
      `UPDATE audit SET at = now() - interval '100 days' WHERE seq = (SELECT min(seq) FROM audit)`,
    );
    const before = await api.count('audit');
    expect(await m().stores.audit.sweep(new Date(Date.now() - 90 * 86_400_000))).toBe(1);
    expect(await api.count('audit')).toBe(before - 1);
  });
});
