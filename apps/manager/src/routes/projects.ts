import type { FastifyInstance } from 'fastify';
import { HearthError, roleAtLeast, routes, type ProjectRole } from '@hearth/contract';
import { serve } from '../http.ts';
import type { AppServices } from '../app.ts';
import { DEFAULT_PROJECT } from '../auth/authority.ts';
import type { Principal } from '../auth/principal.ts';
import type { ProjectQuotas } from '../db/schema.ts';
import { memberFromRow, projectFromRow, userFromRow } from '../store/mappers.ts';
import { usageOf } from '../store/usage.ts';

/** A role as a token may use it: never above the token's ceiling. */
function capped(role: ProjectRole, p: Principal): ProjectRole {
  const c = p.ceiling;
  return c === null || c === 'admin' || !roleAtLeast(role, c) ? role : c;
}

/** Limits as stored: an absent key is unlimited, so nulls are dropped. */
function limits(q: Record<string, number | null | undefined>): ProjectQuotas {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => typeof v === 'number'));
}

/** Projects, their members and quotas, and `GET /v1/me` (who the caller is, where it belongs). */
export function projectRoutes(app: FastifyInstance, { db, stores, auth, log }: AppServices): void {
  const t = auth;
  const view = async (row: Parameters<typeof projectFromRow>[0], role: ProjectRole) =>
    projectFromRow(row, await usageOf(db, row.name), role);

  serve(app, t, routes.listProjects, async ({ query, principal }) => {
    const page = await stores.projects.page(query, principal.admin ? null : (principal.userId ?? ''));
    const items = [];
    for (const r of page.items) items.push(await view(r.project, capped(r.role, principal)));
    return { items, nextCursor: page.nextCursor };
  });

  serve(app, t, routes.createProject, async ({ body, principal, actor }) => {
    const row = await stores.projects.create(body.name, {
      description: body.description,
      quotas: limits(body.quotas),
    });
    // The bootstrap token has no user to make owner: administrators own every project anyway.
    if (principal.userId) await stores.projects.setMember(row.name, principal.userId, 'owner');
    log.info({ project: row.name, actor }, 'project created');
    return view(row, 'owner');
  });

  serve(app, t, routes.getProject, async ({ project, role }) =>
    view(await stores.projects.require(project), role!),
  );

  serve(app, t, routes.patchProject, async ({ params, body, actor }) => {
    const row = await stores.projects.patch(params.id, body);
    log.info({ project: row.name, fields: Object.keys(body), actor }, 'project changed');
    return view(row, 'owner');
  });

  serve(app, t, routes.deleteProject, async ({ params, actor }) => {
    await stores.projects.delete(params.id);
    log.info({ project: params.id, actor }, 'project deleted');
  });

  serve(app, t, routes.listMembers, async ({ project }) => ({
    items: (await stores.projects.members(project)).map(memberFromRow),
  }));

  serve(app, t, routes.putMember, async ({ project, params, body, actor }) => {
    const user = await stores.users.require(params.user);
    await stores.projects.putMember(project, user.id, body.role);
    log.info({ project, user: user.id, role: body.role, actor }, 'member set');
    const member = (await stores.projects.members(project)).find((m) => m.user_id === user.id)!;
    return memberFromRow(member);
  });

  serve(app, t, routes.deleteMember, async ({ project, params, actor }) => {
    const user = await stores.users.get(params.user);
    if (!user) {
      throw new HearthError(
        'MEMBER_NOT_FOUND',
        `Removing "${params.user}" from project "${project}" failed: no such user is a member.`,
      );
    }
    await stores.projects.removeMember(project, user.id, user.name);
    log.info({ project, user: user.id, actor }, 'member removed');
  });

  serve(app, t, routes.me, async ({ principal: p }) => {
    const row = p.userId ? await stores.users.get(p.userId) : null;
    const projects = p.admin
      ? (await stores.projects.names()).map((name) => ({ name, role: 'owner' as const }))
      : (await stores.projects.membershipsOf(p.userId ?? '')).map((m) => ({ name: m.project, role: m.role }));
    return {
      user: row ? userFromRow(row) : null,
      admin: p.admin,
      via: p.via,
      projects: projects.map((x) => ({ name: x.name, role: capped(x.role, p) })),
      defaultProject: p.scope ?? p.defaultProject ?? DEFAULT_PROJECT,
      csrf: p.csrf,
      ceiling: p.ceiling,
      scope: p.scope,
    };
  });
}
