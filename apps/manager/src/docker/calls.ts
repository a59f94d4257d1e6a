import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Container } from '@hearth/contract';
import type { Creds, HearthBackend } from './backend.ts';
import { AUTH_HINT, DockerError, fromHearth, type Subject } from './errors.ts';

export interface DockerDeps {
  backend: HearthBackend;
  log: Logger;
  version: string;
}

/** The headers forwarded to Hearth: the bearer token and the project (both from HttpHeaders). */
export function credsOf(headers: IncomingHttpHeaders): Creds {
  const out: Creds = {};
  const auth = headers.authorization;
  if (typeof auth !== 'string' || !auth) throw new DockerError(401, `No credentials. ${AUTH_HINT}`);
  out.authorization = auth;
  const project = headers['x-hearth-project'];
  if (typeof project === 'string' && project) out['x-hearth-project'] = project;
  return out;
}

/** Calls a Hearth route and returns its body, or throws the Docker error for its failure. */
export async function must<T>(
  backend: HearthBackend,
  creds: Creds,
  method: string,
  url: string,
  body?: unknown,
  subject?: Subject,
): Promise<T> {
  const res = await backend.call(method, url, creds, body);
  if (res.status >= 400) throw fromHearth(res.status, res.body, subject);
  return res.body as T;
}

export const enc = encodeURIComponent;

/** A container by id, id prefix or name, as Docker's "No such container" when it is not there. */
export const getContainer = (b: HearthBackend, creds: Creds, ref: string) =>
  must<Container>(b, creds, 'GET', `/v1/containers/${enc(ref)}`, undefined, { kind: 'container', ref });

/** Every container (Hearth pages them), following the cursor. */
export async function listContainers(b: HearthBackend, creds: Creds, all: boolean): Promise<Container[]> {
  const out: Container[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: '500', ...(all ? { all: 'true' } : {}) });
    if (cursor) q.set('cursor', cursor);
    const page: { items: Container[]; nextCursor: string | null } = await must(
      b,
      creds,
      'GET',
      `/v1/containers?${q}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
