import type { ProjectRole } from '@hearth/contract';
import type { RunningManager } from '@hearth/manager';

type Stores = RunningManager['stores'];

export interface TestUser {
  id: string;
  name: string;
  token: string;
  /** Authorization header for this user, optionally acting in a project. */
  headers: (project?: string) => Record<string, string>;
}

let seq = 0;

/**
 * A user straight in the database (no API involved), member of the given projects with the given
 * roles, with an API token. Projects that do not exist yet are created.
 */
export async function makeUser(
  stores: Stores,
  opts: {
    name?: string;
    admin?: boolean;
    roles?: Record<string, ProjectRole>;
    token?: { role?: ProjectRole | 'admin'; project?: string; expiresAt?: Date };
  } = {},
): Promise<TestUser> {
  const name = opts.name ?? `user-${process.pid}-${++seq}`;
  const user = await stores.users.create({ name, admin: opts.admin ?? false });
  for (const [project, role] of Object.entries(opts.roles ?? {})) {
    if (!(await stores.projects.roleOf(project, null)).exists) await stores.projects.create(project);
    await stores.projects.setMember(project, user.id, role);
  }
  const { token } = await stores.tokens.createForUser(user.id, { name: 'test', ...opts.token });
  return {
    id: user.id,
    name,
    token,
    headers: (project) => ({
      authorization: `Bearer ${token}`,
      ...(project ? { 'x-hearth-project': project } : {}),
    }),
  };
}
