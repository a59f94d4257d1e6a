import { roleAtLeast, routeRoles, type Me, type ProjectRole, type UserRouteId } from '@hearth/contract';

/** The caller's role in `project` as the manager computes it (capped by a token's ceiling), or null. */
export function roleIn(me: Me, project: string): ProjectRole | null {
  if (me.scope !== null && me.scope !== project) return null;
  const held: ProjectRole | null = me.admin
    ? 'owner'
    : (me.projects.find((p) => p.name === project)?.role ?? null);
  if (!held || me.ceiling === null || me.ceiling === 'admin') return held;
  return roleAtLeast(held, me.ceiling) ? me.ceiling : held;
}

/** Whether the caller is a platform administrator through this credential. */
export const isAdmin = (me: Me) => me.admin && (me.ceiling === null || me.ceiling === 'admin');

/**
 * Why the caller may not call `route` in `project` (null: it may), from the contract's one
 * authorization table: the same rule the manager applies, so a button the API would refuse is
 * disabled with this as its tooltip. The manager still decides; this only spares a refusal.
 */
export function denial(me: Me, project: string, route: UserRouteId): string | null {
  const needed = routeRoles[route];
  if (needed === 'signed-in') return null;
  if (needed === 'admin') return isAdmin(me) ? null : 'Needs a platform administrator.';
  if (me.scope !== null && me.scope !== project) return `This token acts in project ${me.scope} only.`;
  const held = roleIn(me, project);
  if (!held) return `You are not a member of project ${project}.`;
  if (roleAtLeast(held, needed)) return null;
  return `Needs the ${needed} role in project ${project}; you have ${held}.`;
}

/**
 * The project to fall back to when the chosen one is not the caller's (remembered from another
 * user, or membership removed), or null when the choice stands. Administrators may act anywhere;
 * a scoped token only in its project; others in their default project if they belong to it,
 * else their first project.
 */
export function fallbackProject(me: Me, chosen: string | null): string | null {
  if (chosen === null || me.admin) return null;
  if (me.scope !== null) return me.scope === chosen ? null : me.scope;
  if (me.projects.some((p) => p.name === chosen)) return null;
  const home = me.projects.some((p) => p.name === me.defaultProject)
    ? me.defaultProject
    : (me.projects[0]?.name ?? me.defaultProject);
  return home === chosen ? null : home;
}
