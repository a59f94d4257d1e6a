import type { ProjectRole } from '@hearth/contract';

/** How the caller proved who it is. */
export type Via = 'token' | 'session' | 'ticket';

/**
 * Who is calling. `admin` is the bootstrap admin token (no user behind it); `user` is a person,
 * by API token, browser session or WebSocket ticket; `agent`/`join` are hosts.
 */
export interface Principal {
  kind: 'admin' | 'user' | 'agent' | 'join' | 'anonymous';
  /** The credential: token id, session id or the ticket's underlying credential. */
  credentialId: string;
  tokenId: string | null;
  sessionId: string | null;
  userId: string | null;
  /** For logs, events and the audit trail: user name, `bootstrap`, or the host id. */
  name: string;
  /** Platform administrator (the bootstrap token, or a user with the admin flag). */
  admin: boolean;
  hostId: string | null;
  /** A token's role ceiling: it never acts above it. */
  ceiling: ProjectRole | 'admin' | null;
  /** A token's project scope: it acts in this project only. */
  scope: string | null;
  via: Via;
  /** The session's CSRF secret, which cookie-authenticated writes must echo. */
  csrf: string | null;
  /** The user's default project, when it has one. */
  defaultProject: string | null;
}

/** The `actor` recorded on VM events: kind and name, never a secret. */
export function actorOf(p: Principal): string {
  return `${p.kind}:${p.name}`;
}

/** The caller of a route that needs no credential (sign-in, the sign-in options). */
export const ANONYMOUS: Principal = Object.freeze({
  kind: 'anonymous',
  credentialId: '',
  tokenId: null,
  sessionId: null,
  userId: null,
  name: 'anonymous',
  admin: false,
  hostId: null,
  ceiling: null,
  scope: null,
  via: 'token',
  csrf: null,
  defaultProject: null,
});

/** A caller's standing in one project, read together with its credential. */
export interface PrefetchedRole {
  project: string;
  exists: boolean;
  role: ProjectRole | null;
}

/**
 * The role read in the same query as the credential, for the project the request named before
 * its body (or the caller's default). Authorization takes it once (a long-lived connection that
 * checks again, a console, reads afresh); a request acting in another project reads its own.
 */
const prefetched = new WeakMap<Principal, PrefetchedRole>();

export function notePrefetchedRole(p: Principal, role: PrefetchedRole): void {
  prefetched.set(p, role);
}

/** The prefetched role for `project`, used up by this call; undefined when there is none. */
export function takePrefetchedRole(p: Principal, project: string): PrefetchedRole | undefined {
  const r = prefetched.get(p);
  if (!r) return undefined;
  prefetched.delete(p);
  return r.project === project ? r : undefined;
}
