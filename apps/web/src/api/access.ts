import { useQuery } from '@tanstack/react-query';
import type { Me, UserRouteId } from '@hearth/contract';
import { denial, isAdmin, roleIn } from '../lib/roles.ts';
import { identityQueries } from './identity-queries.ts';
import { useProject } from './project.tsx';
import { useSession } from './session.tsx';

export interface Access {
  /** Null until GET /v1/me answered. */
  me: Me | undefined;
  /** The project this tab acts in (the chosen one, else the caller's default). */
  project: string;
  admin: boolean;
  role: ReturnType<typeof roleIn>;
  /** Why `route` would be refused in `project` (default: the current one); null when allowed or unknown yet. */
  deny(route: UserRouteId, project?: string): string | null;
}

/** Who the caller is and what it may do here, from GET /v1/me and the contract's route table. */
export function useAccess(): Access {
  const { client } = useSession();
  const me = useQuery(identityQueries.me(client)).data;
  const chosen = useProject().project;
  const project = chosen ?? me?.defaultProject ?? 'default';
  return {
    me,
    project,
    admin: me ? isAdmin(me) : false,
    role: me ? roleIn(me, project) : null,
    deny: (route, inProject = project) => (me ? denial(me, inProject, route) : null),
  };
}
