import { expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser, type TestUser } from '../../../../test/helpers/identity.ts';

describeOnBackends('projects API', (db) => {
  const api = useApiPlatform({ db });
  const stores = () => api.p.manager.stores;
  const as = (u: TestUser, method: string, url: string, payload?: unknown) =>
    api.p.manager.app.inject({ method, url, headers: u.headers(), payload } as never);
  /** A volume row straight in the database: something a project holds. */
  const addVolume = async (project: string, name: string, sizeMib: number) => {
    const host = (await stores().hosts.list(1)).items[0]!;
    await api.p.manager.db.query(
      `INSERT INTO volumes (id, name, project, size_mib, format, host_id) VALUES ($1, $2, $3, $4, 'raw', $5)`,
      [`vol_${project}_${name}`, name, project, sizeMib, host.id],
    );
  };

  it('makes the creating user the owner; the bootstrap token leaves a project without members', async () => {
    const admin = await makeUser(stores(), { admin: true });
    const r = await as(admin, 'POST', '/v1/projects', {
      name: 'prj-made',
      description: 'made by a user',
      quotas: { vms: 3, memoryMib: null },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({
      name: 'prj-made',
      role: 'owner',
      quotas: { vms: 3 },
      usage: { vms: 0 },
    });
    expect(r.json().quotas).not.toHaveProperty('memoryMib');
    const members = await as(admin, 'GET', '/v1/projects/prj-made/members');
    expect(members.json().items).toMatchObject([{ userId: admin.id, userName: admin.name, role: 'owner' }]);

    const boot = await api.inject({ method: 'POST', url: '/v1/projects', payload: { name: 'prj-boot' } });
    expect(boot.statusCode).toBe(201);
    const none = await api.inject({ method: 'GET', url: '/v1/projects/prj-boot/members' });
    expect(none.json().items).toEqual([]);

    const taken = await api.inject({ method: 'POST', url: '/v1/projects', payload: { name: 'prj-boot' } });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('PROJECT_NAME_TAKEN');
  });

  it("lists the caller's projects with its role; administrators see all as owner", async () => {
    const u = await makeUser(stores(), { roles: { 'prj-l1': 'viewer', 'prj-l2': 'operator' } });
    await stores().projects.create('prj-l3');
    const mine = await as(u, 'GET', '/v1/projects');
    expect(mine.json().items.map((p: { name: string; role: string }) => [p.name, p.role])).toEqual([
      ['prj-l1', 'viewer'],
      ['prj-l2', 'operator'],
    ]);
    const all: { name: string; role: string }[] = [];
    let cursor: string | null = null;
    do {
      const page = await api.inject({
        method: 'GET',
        url: `/v1/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      all.push(...page.json().items);
      cursor = page.json().nextCursor;
    } while (cursor);
    expect(all.map((p) => p.name)).toEqual(expect.arrayContaining(['default', 'prj-l1', 'prj-l2', 'prj-l3']));
    expect(new Set(all.map((p) => p.role))).toEqual(new Set(['owner']));
  });

  it('shows quotas and usage; an administrator merges quotas and null removes a limit', async () => {
    const u = await makeUser(stores(), { roles: { 'prj-q': 'viewer' } });
    await addVolume('prj-q', 'data', 64);
    const got = await as(u, 'GET', '/v1/projects/prj-q');
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ role: 'viewer', usage: { volumes: 1, diskMib: 64, vms: 0 } });

    const set = await api.inject({
      method: 'PATCH',
      url: '/v1/projects/prj-q',
      payload: { description: 'limited', quotas: { vms: 10, memoryMib: 8192 } },
    });
    expect(set.json()).toMatchObject({ description: 'limited', quotas: { vms: 10, memoryMib: 8192 } });
    const merged = await api.inject({
      method: 'PATCH',
      url: '/v1/projects/prj-q',
      payload: { quotas: { vms: null, volumes: 2 } },
    });
    expect(merged.json().quotas).toEqual({ memoryMib: 8192, volumes: 2 });
    expect(merged.json().description).toBe('limited');

    const viewerPatch = await as(u, 'PATCH', '/v1/projects/prj-q', { description: 'x' });
    expect(viewerPatch.json().error.code).toBe('ADMIN_REQUIRED');
    const missing = await api.inject({ method: 'PATCH', url: '/v1/projects/prj-nope', payload: {} });
    expect(missing.json().error.code).toBe('PROJECT_NOT_FOUND');
  });

  it('deletes only empty projects, never default, and revokes tokens scoped to them', async () => {
    const builtin = await api.inject({ method: 'DELETE', url: '/v1/projects/default' });
    expect(builtin.statusCode).toBe(409);
    expect(builtin.json().error.code).toBe('PROJECT_BUILTIN');

    const u = await makeUser(stores(), { roles: { 'prj-d': 'owner' }, token: { project: 'prj-d' } });
    await addVolume('prj-d', 'd1', 16);
    const full = await api.inject({ method: 'DELETE', url: '/v1/projects/prj-d' });
    expect(full.statusCode).toBe(409);
    expect(full.json().error.code).toBe('PROJECT_NOT_EMPTY');
    expect(full.json().error.detail).toMatchObject({ volumes: 1, vms: 0, networks: 0 });

    await api.p.manager.db.query(`DELETE FROM volumes WHERE project = 'prj-d'`);
    const ok = await api.inject({ method: 'DELETE', url: '/v1/projects/prj-d' });
    expect(ok.statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/v1/projects/prj-d' })).json().error.code).toBe(
      'PROJECT_NOT_FOUND',
    );
    // A project made again under the name does not hand the old scoped token back its access.
    await stores().projects.create('prj-d');
    expect((await as(u, 'GET', '/v1/me')).statusCode).toBe(401);
  });

  it('lets owners manage members and keeps one owner', async () => {
    const owner = await makeUser(stores(), { roles: { 'prj-m': 'owner' } });
    const op = await makeUser(stores(), { roles: { 'prj-m': 'operator' } });
    const newbie = await makeUser(stores());

    const add = await as(owner, 'PUT', `/v1/projects/prj-m/members/${newbie.name}`, { role: 'viewer' });
    expect(add.statusCode).toBe(200);
    expect(add.json()).toMatchObject({ userId: newbie.id, userName: newbie.name, role: 'viewer' });
    const byOp = await as(op, 'PUT', `/v1/projects/prj-m/members/${newbie.id}`, { role: 'owner' });
    expect(byOp.statusCode).toBe(403);
    expect(byOp.json().error.code).toBe('ROLE_REQUIRED');
    const viewerList = await as(newbie, 'GET', '/v1/projects/prj-m/members');
    expect(
      viewerList
        .json()
        .items.map((m: { userName: string }) => m.userName)
        .sort(),
    ).toEqual([owner.name, op.name, newbie.name].sort());

    const demote = await as(owner, 'PUT', `/v1/projects/prj-m/members/${owner.id}`, { role: 'operator' });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error.code).toBe('LAST_OWNER');
    const leave = await as(owner, 'DELETE', `/v1/projects/prj-m/members/${owner.name}`);
    expect(leave.json().error.code).toBe('LAST_OWNER');

    expect(
      (await as(owner, 'PUT', `/v1/projects/prj-m/members/${op.name}`, { role: 'owner' })).statusCode,
    ).toBe(200);
    expect((await as(owner, 'DELETE', `/v1/projects/prj-m/members/${owner.name}`)).statusCode).toBe(204);
    expect((await as(owner, 'GET', '/v1/projects/prj-m')).json().error.code).toBe('PROJECT_NOT_FOUND');

    const notMember = await as(op, 'DELETE', `/v1/projects/prj-m/members/${owner.name}`);
    expect(notMember.statusCode).toBe(404);
    expect(notMember.json().error.code).toBe('MEMBER_NOT_FOUND');
    const noUser = await as(op, 'PUT', '/v1/projects/prj-m/members/nobody-at-all', { role: 'viewer' });
    expect(noUser.json().error.code).toBe('USER_NOT_FOUND');
    const badRole = await as(op, 'PUT', `/v1/projects/prj-m/members/${newbie.name}`, { role: 'admin' });
    expect(badRole.statusCode).toBe(400);
  });

  it('leaves one owner when two owners demote each other at once', async () => {
    // Several projects at once, so that the two demotions of some pair overlap in the database.
    const pairs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const project = `prj-race-${i}`;
        const a = await makeUser(stores(), { roles: { [project]: 'owner' } });
        const b = await makeUser(stores(), { roles: { [project]: 'owner' } });
        return { project, a, b };
      }),
    );
    const answers = await Promise.all(
      pairs.flatMap(({ project, a, b }) => [
        as(a, 'PUT', `/v1/projects/${project}/members/${b.id}`, { role: 'viewer' }),
        as(b, 'PUT', `/v1/projects/${project}/members/${a.id}`, { role: 'viewer' }),
      ]),
    );
    for (const r of answers) {
      // A loser is refused by the role check (already demoted) or by the last-owner rule.
      if (r.statusCode !== 200) expect(['ROLE_REQUIRED', 'LAST_OWNER']).toContain(r.json().error.code);
    }
    for (const { project } of pairs) {
      const roles = (await stores().projects.members(project)).map((m) => m.role).sort();
      expect(roles, project).toEqual(['owner', 'viewer']);
    }
  });

  it('answers GET /v1/me for users, scoped tokens and the bootstrap token', async () => {
    const u = await makeUser(stores(), { roles: { 'prj-me1': 'owner', 'prj-me2': 'viewer' } });
    const me = (await as(u, 'GET', '/v1/me')).json();
    expect(me).toMatchObject({
      user: { id: u.id, name: u.name, admin: false },
      admin: false,
      via: 'token',
      projects: [
        { name: 'prj-me1', role: 'owner' },
        { name: 'prj-me2', role: 'viewer' },
      ],
      // Not a member of `default`: their first project is where they act by default.
      defaultProject: 'prj-me1',
      csrf: null,
      ceiling: null,
      scope: null,
    });

    const scoped = await makeUser(stores(), {
      roles: { 'prj-me1': 'owner' },
      token: { role: 'viewer', project: 'prj-me1' },
    });
    const s = (await as(scoped, 'GET', '/v1/me')).json();
    expect(s).toMatchObject({ ceiling: 'viewer', scope: 'prj-me1', defaultProject: 'prj-me1' });
    expect(s.projects).toEqual([{ name: 'prj-me1', role: 'viewer' }]);

    const boot = (await api.inject({ method: 'GET', url: '/v1/me' })).json();
    expect(boot).toMatchObject({ user: null, admin: true, via: 'token', ceiling: null, scope: null });
    expect(boot.projects).toEqual(expect.arrayContaining([{ name: 'prj-me2', role: 'owner' }]));
  });
});
