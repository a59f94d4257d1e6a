import { useEffect, useId } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useLocation, useNavigate } from 'react-router';
import { useAccess } from '../api/access.ts';
import { identityQueries } from '../api/identity-queries.ts';
import { useProject } from '../api/project.tsx';
import { useSession } from '../api/session.tsx';
import { fallbackProject } from '../lib/roles.ts';
import { inputClass } from './Field.tsx';
import { Badge, Button, ErrorLine, errorText } from './ui.tsx';

/** The project switcher: every request, list and the event stream follow the chosen project. */
function ProjectSwitcher() {
  const { client } = useSession();
  const { me, project } = useAccess();
  const { project: chosen, choose } = useProject();
  const listed = useQuery(identityQueries.projects(client));
  const id = useId();
  const { pathname } = useLocation();
  const navigate = useNavigate();
  // A VM's or network's page belongs to the old project: land on its list in the new one.
  const switchTo = (p: string) => {
    const list = pathname.split('/').slice(0, 2).join('/') || '/';
    if (list !== pathname && !pathname.endsWith('/new')) navigate(list);
    choose(p);
  };
  // A remembered project the caller no longer belongs to (or another user's choice): back to the default.
  useEffect(() => {
    const other = me ? fallbackProject(me, chosen) : null;
    if (other) choose(other);
  }, [me, chosen, choose]);
  const names = new Set([project, ...(listed.data ?? me?.projects ?? []).map((p) => p.name)]);
  return (
    <div className="flex items-center gap-2 lg:block lg:space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-slate-600 dark:text-slate-300">
        Project
      </label>
      <select
        id={id}
        className={`${inputClass.replace('w-full', '')} w-44 lg:w-full`}
        value={project}
        disabled={me?.scope != null}
        title={me?.scope ? `This token acts in project ${me.scope} only.` : undefined}
        onChange={(e) => switchTo(e.target.value)}
        data-testid="project-switcher"
      >
        {[...names].sort().map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Who is signed in (GET /v1/me), the project switcher, sign out and sign out everywhere. */
export function UserMenu() {
  const { client, signOut } = useSession();
  const { me, role, admin } = useAccess();
  // Ends the session on the manager; the browser forgets its credential whatever the answer.
  const logout = useMutation({ mutationFn: () => client.call('logout'), onSettled: signOut });
  const everywhere = useMutation({ mutationFn: () => client.call('logoutEverywhere'), onSuccess: signOut });
  const who = me ? (me.user ? me.user.displayName || me.user.name : 'bootstrap admin token') : '…';
  return (
    <div
      className="flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3 lg:block lg:space-y-2"
      data-testid="user-menu"
    >
      <p className="text-sm">
        <span className="sr-only">Signed in as </span>
        <span className="font-semibold" data-testid="whoami">
          {who}
        </span>{' '}
        {admin && <Badge>admin</Badge>}
        {role && (
          <span className="block text-xs text-slate-600 dark:text-slate-300" data-testid="project-role">
            {role} in this project
          </span>
        )}
      </p>
      <ProjectSwitcher />
      <div className="flex flex-wrap gap-2 lg:flex-col">
        <Button variant="ghost" onClick={() => logout.mutate()} disabled={logout.isPending}>
          Sign out
        </Button>
        <Button
          variant="ghost"
          onClick={() => everywhere.mutate()}
          disabled={everywhere.isPending}
          title="Ends every session of your user on every device; API tokens keep working."
        >
          Sign out everywhere
        </Button>
      </div>
      <ErrorLine message={errorText(everywhere.error)} />
    </div>
  );
}
