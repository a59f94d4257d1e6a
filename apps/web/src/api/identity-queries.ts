import { infiniteQueryOptions, queryOptions } from '@tanstack/react-query';
import type { HearthClient } from '@hearth/sdk';

/** Every page of a cursor-paginated list (the SDK's `all` covers the resource lists only). */
async function allPages<T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>) {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    items.push(...p.items);
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** The audit page's filters; empty strings are "any". */
export interface AuditFilters {
  actor: string;
  action: string;
  outcome: '' | 'success' | 'failure' | 'denied';
  /** Administrators: every project and the platform's own records. */
  all: boolean;
}

/**
 * Query factories for identity: who the caller is, users, projects and their members, API tokens
 * and the audit trail. The query cache belongs to one project (it is rebuilt on a switch), so
 * keys need not name it; project pages key by the project they show.
 */
export const identityKeys = {
  me: ['me'] as const,
  authConfig: ['auth-config'] as const,
  users: ['users'] as const,
  projects: ['projects'] as const,
  project: (name: string) => ['projects', 'detail', name] as const,
  members: (name: string) => ['projects', 'members', name] as const,
  tokens: ['tokens'] as const,
  tokenList: (all: boolean) => ['tokens', all] as const,
  audit: (f: AuditFilters) => ['audit', f] as const,
};

export const identityQueries = {
  me: (c: HearthClient) => queryOptions({ queryKey: identityKeys.me, queryFn: () => c.call('me') }),
  authConfig: (c: HearthClient) =>
    queryOptions({
      queryKey: identityKeys.authConfig,
      queryFn: () => c.call('authConfig'),
      staleTime: 60_000,
    }),
  users: (c: HearthClient) =>
    queryOptions({
      queryKey: identityKeys.users,
      queryFn: () => allPages((cursor) => c.call('listUsers', { query: { limit: 500, cursor } })),
    }),
  projects: (c: HearthClient) =>
    queryOptions({
      queryKey: identityKeys.projects,
      queryFn: () => allPages((cursor) => c.call('listProjects', { query: { limit: 500, cursor } })),
    }),
  project: (c: HearthClient, name: string) =>
    queryOptions({
      queryKey: identityKeys.project(name),
      queryFn: () => c.call('getProject', { params: { id: name } }),
    }),
  members: (c: HearthClient, name: string) =>
    queryOptions({
      queryKey: identityKeys.members(name),
      queryFn: async () => (await c.call('listMembers', { params: { id: name } })).items,
    }),
  /** The caller's tokens; administrators: `all`, every user's and the bootstrap admin token. */
  tokens: (c: HearthClient, all = false) =>
    queryOptions({
      queryKey: identityKeys.tokenList(all),
      queryFn: () =>
        allPages((cursor) =>
          c.call('listTokens', { query: { limit: 500, cursor, all: all ? 'true' : undefined } }),
        ),
    }),
  /** Newest first, a page at a time ("Load more" follows `nextCursor`). */
  audit: (c: HearthClient, f: AuditFilters) =>
    infiniteQueryOptions({
      queryKey: identityKeys.audit(f),
      initialPageParam: undefined as string | undefined,
      queryFn: ({ pageParam }) =>
        c.call('listAudit', {
          query: {
            limit: 50,
            cursor: pageParam,
            actor: f.actor.trim() || undefined,
            action: f.action.trim() || undefined,
            outcome: f.outcome || undefined,
            all: f.all ? 'true' : undefined,
          },
        }),
      getNextPageParam: (last) => last.nextCursor ?? undefined,
    }),
};
