import type { FastifyInstance } from 'fastify';
import { routes } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { hashPassword } from '../auth/passwords.ts';
import { userFromRow } from '../store/mappers.ts';
import type { UserPatch } from '../store/users.ts';

/** Users: administrators create, change, disable and delete them (routeRoles says `admin`). */
export function userRoutes(app: FastifyInstance, { stores, auth, log }: AppServices): void {
  const t = auth;

  serve(app, t, routes.listUsers, async ({ query }) => {
    const page = await stores.users.list(query);
    return { items: page.items.map(userFromRow), nextCursor: page.nextCursor };
  });

  serve(app, t, routes.createUser, async ({ body, actor }) => {
    const row = await stores.users.create({
      name: body.name,
      display_name: body.displayName ?? '',
      email: body.email ?? null,
      admin: body.admin,
      password_hash: body.password === undefined ? null : await hashPassword(body.password),
    });
    log.info({ user: row.id, name: row.name, admin: row.admin, actor }, 'user created');
    return userFromRow(row);
  });

  serve(app, t, routes.getUser, async ({ params }) => userFromRow(await stores.users.require(params.id)));

  serve(app, t, routes.patchUser, async ({ params, body, actor }) => {
    const user = await stores.users.require(params.id);
    if (typeof body.defaultProject === 'string') await stores.projects.require(body.defaultProject);
    const patch: UserPatch = {
      ...(body.displayName === undefined ? {} : { display_name: body.displayName }),
      ...(body.email === undefined ? {} : { email: body.email }),
      ...(body.admin === undefined ? {} : { admin: body.admin }),
      ...(body.disabled === undefined ? {} : { disabled: body.disabled }),
      ...(body.defaultProject === undefined ? {} : { default_project: body.defaultProject }),
      ...(body.password === undefined ? {} : { password_hash: await hashPassword(body.password) }),
    };
    const row = Object.keys(patch).length ? await stores.users.patch(user.id, patch) : user;
    // A disabled user, or one whose password was reset, keeps no signed-in browser.
    if (body.disabled === true || body.password !== undefined) await stores.sessions.deleteForUser(user.id);
    log.info({ user: user.id, fields: Object.keys(body), actor }, 'user changed');
    return userFromRow(row);
  });

  serve(app, t, routes.deleteUser, async ({ params, actor }) => {
    const user = await stores.users.require(params.id);
    await stores.users.delete(user.id);
    log.info({ user: user.id, name: user.name, actor }, 'user deleted');
  });
}
