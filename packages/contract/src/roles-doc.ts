import { routes, type RouteDef } from './routes.ts';
import { CONSOLE_INPUT_ROLE, roleOf, type RouteRole } from './route-roles.ts';

/** Where a route's role is checked: in the request's project, platform-wide, or not at all. */
type RoleScope = 'project' | 'platform' | 'any';

function scopeOf(role: RouteRole): RoleScope {
  return role === 'admin' ? 'platform' : role === 'signed-in' ? 'any' : 'project';
}

/** Route ids users call (everything but the host agents' own routes and sign-in). */
export function userRouteIds(): string[] {
  return Object.entries(routes as Record<string, RouteDef>)
    .filter(([, r]) => r.auth === 'user' || r.auth === 'user-or-agent')
    .map(([id]) => id);
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** docs/roles.md, generated from the route table and `routeRoles` (a test keeps it in sync). */
export function renderRolesDoc(): string {
  const all = routes as Record<string, RouteDef>;
  const rows = userRouteIds().map((id) => {
    const r = all[id]!;
    const role = roleOf(id);
    if (!role) throw new Error(`route ${id} has no entry in routeRoles`);
    const scope = scopeOf(role);
    const where = scope === 'project' && r.projectParam ? `project (\`:${r.projectParam}\`)` : scope;
    return `| ${r.method} | \`${cell(r.path)}\` | \`${id}\` | ${role} | ${where} |`;
  });
  const open = Object.entries(all)
    .filter(([, r]) => r.auth === 'none')
    .map(([id, r]) => `\`${r.method} ${r.path}\` (${id})`);
  const hosts = Object.entries(all)
    .filter(([, r]) => r.auth === 'agent' || r.auth === 'join')
    .map(
      ([id, r]) => `\`${r.method} ${r.path}\` (${id}, ${r.auth === 'join' ? 'join token' : 'agent token'})`,
    );
  return [
    '# Roles',
    '',
    'Every route a user calls needs one of these, checked in one place on the manager (HTTP and',
    'WebSocket alike):',
    '',
    '- **viewer** < **operator** < **owner**: a role in the request’s project. The project is the',
    '  `X-Hearth-Project` header, else a `project` query parameter or body field, else the token’s',
    '  project scope or the user’s default project, else `default`; project routes name it in the path.',
    '  A caller who is not a member gets `PROJECT_NOT_FOUND` (the project’s existence does not leak);',
    '  a member below the role gets `ROLE_REQUIRED`.',
    '- **admin**: a platform administrator (hosts, global images, users, projects); others get',
    '  `ADMIN_REQUIRED`. Administrators hold every role in every project.',
    '- **signed-in**: any user credential.',
    '',
    'An API token never acts above its role ceiling nor outside its project scope',
    `(\`TOKEN_SCOPE_EXCEEDED\`). Typing into a VM console needs ${CONSOLE_INPUT_ROLE}; a viewer sees it only.`,
    '',
    'Scope: **project** (the role in the request’s project), **platform** (administrators),',
    '**any** (any signed-in user).',
    '',
    '| method | path | route | role | scope |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `No credential: ${open.join(', ')}.`,
    '',
    `Hosts only: ${hosts.join(', ')}.`,
    '',
    'This file is generated from `packages/contract/src/routes.ts` and',
    '`packages/contract/src/route-roles.ts` by `npm run docs`; a test fails when they differ.',
    '',
  ].join('\n');
}
