import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeRoles, routes, type AuditRecord, type RouteDef } from '@hearth/contract';
import { errorCodeOf, grantedOf, principalOf } from '../http.ts';
import type { AuditStore, NewAudit } from '../store/audit.ts';
import type { Authority } from './authority.ts';
import { ANONYMOUS, type Principal } from './principal.ts';

/** Each contract route by the method and path pattern Fastify matched. */
const ROUTE_BY_PATTERN = new Map<string, [string, RouteDef]>(
  Object.entries(routes).map(([id, r]) => [`${r.method} ${r.path}`, [id, r as RouteDef]]),
);

/** WebSockets whose opening is an action: a shell, a console one may type into, a TCP stream into the guest. */
const AUDITED_SOCKETS = new Set(['vmShell', 'vmConsole', 'vmPortStream']);

/**
 * Routes a host agent calls every few seconds: their successes are routine and would bury
 * everything else (their refusals are still recorded).
 */
const ROUTINE = new Set(['heartbeat', 'reportVmStatus']);

/** What the response told us that is worth keeping: a created resource's id, a signed-in user. */
interface Learnt {
  createdId?: string;
  user?: { id: string; name: string };
}
const learnt = new WeakMap<FastifyRequest, Learnt>();
/** Most records written in one statement. */
const AUDIT_BATCH = 200;
const recorded = new WeakSet<FastifyRequest>();

/**
 * What a route outside the contract (the E2B API) tells the audit trail about its request: its
 * action, and once it knows them, the caller, the project and the target.
 */
export interface DeclaredAudit {
  action: string;
  principal?: Principal;
  project?: string;
  target?: string;
}
const declared = new WeakMap<FastifyRequest, DeclaredAudit>();

/**
 * Puts a request of a route outside the contract in the audit trail, by the rules of the contract's
 * routes (a state-changing call whatever its outcome, any call refused for want of credentials or
 * rights); called again, it adds what it learnt since (the caller, the target).
 */
export function auditAs(req: FastifyRequest, d: Partial<DeclaredAudit>): void {
  const before = declared.get(req);
  const action = d.action ?? before?.action;
  if (!action) throw new Error('auditAs: the first call names the action');
  declared.set(req, { ...before, ...d, action });
}

function routeOf(req: FastifyRequest): [string, RouteDef] | undefined {
  const url = req.routeOptions.url;
  if (!url) return undefined;
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  return ROUTE_BY_PATTERN.get(`${method} ${url}`);
}

function outcomeOf(status: number): AuditRecord['outcome'] {
  if (status === 401 || status === 403) return 'denied';
  return status < 400 ? 'success' : 'failure';
}

/** Only the fields named here are read from a response; the response itself is never kept. */
function learn(payload: string): Learnt {
  try {
    const j = JSON.parse(payload) as { id?: unknown; user?: { id?: unknown; name?: unknown } };
    const out: Learnt = {};
    if (typeof j.id === 'string') out.createdId = j.id;
    if (typeof j.user?.id === 'string' && typeof j.user.name === 'string')
      out.user = { id: j.user.id, name: j.user.name };
    return out;
  } catch {
    return {};
  }
}

/**
 * The audit trail: every state-changing request (any method but GET/HEAD), every refusal for
 * want of credentials or rights (401/403, reads included), every sign-in (success or not) and
 * every shell or console WebSocket opened. A record holds who, from where, which route on what,
 * in which project, and how it ended; never a body, a header or a query string, which can hold
 * secrets. A failed write is logged and never fails the request.
 */
export function installAudit(app: FastifyInstance, deps: { store: AuditStore; auth: Authority }): void {
  // Written in the order requests ended, by one writer: the records that ended while a write was
  // under way go together in the next statement (one round trip for a burst of requests).
  let pending: { r: NewAudit; log: FastifyRequest['log'] }[] = [];
  let writing = false;
  const write = async () => {
    writing = true;
    while (pending.length) {
      const batch = pending.slice(0, AUDIT_BATCH);
      pending = pending.slice(batch.length);
      await deps.store.insert(batch.map((b) => b.r)).catch(async () => {
        // One bad record must not lose the others: each is written (or logged) on its own.
        for (const { r, log } of batch) {
          await deps.store
            .insert(r)
            .catch((err: unknown) => log.error({ err, action: r.action }, 'audit write failed'));
        }
      });
    }
    writing = false;
  };
  const record = (req: FastifyRequest, status: number) => {
    if (recorded.has(req)) return;
    recorded.add(req);
    const r = describe(req, status, deps.auth);
    if (!r) return;
    pending.push({ r, log: req.log });
    if (!writing) void write();
  };

  app.addHook('onSend', async (req, reply, payload) => {
    const ok = reply.statusCode >= 200 && reply.statusCode < 300;
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    // Small JSON answers only: created resources and the sign-in's user.
    if (ok && write && typeof payload === 'string' && payload.length <= 64 * 1024) {
      learnt.set(req, learn(payload));
    }
    return payload;
  });

  // A WebSocket that opens never gets an HTTP response: it is recorded once admitted.
  app.addHook('preHandler', async (req) => {
    const id = routeOf(req)?.[0];
    if ((req as FastifyRequest & { ws?: boolean }).ws && id && AUDITED_SOCKETS.has(id)) record(req, 101);
  });

  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const found = routeOf(req);
    const status = reply.statusCode;
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    const denied = status === 401 || status === 403;
    if (!found) {
      if (declared.has(req) && (write || denied)) record(req, status);
      return;
    }
    const [id] = found;
    if (!write && !denied) return;
    if (ROUTINE.has(id) && status < 400) return;
    record(req, status);
  });
}

/** The record of one request, from what the request lifecycle learnt (null: not a route of ours). */
function describe(req: FastifyRequest, status: number, auth: Authority): NewAudit | null {
  const found = routeOf(req);
  if (!found) return describeDeclared(req, status);
  const [action, route] = found;
  const principal = principalOf(req) ?? ANONYMOUS;
  const seen = learnt.get(req) ?? {};
  let actor: NewAudit['actor'] = {
    kind: principal.kind,
    id: principal.userId ?? principal.hostId,
    name: principal.name,
  };
  if (action === 'login') {
    // Who tried to sign in: the user name given (never the password), or the user signed in.
    const tried = (req.body as { username?: unknown } | undefined)?.username;
    actor = seen.user
      ? { kind: 'user', id: seen.user.id, name: seen.user.name }
      : { kind: 'anonymous', id: null, name: typeof tried === 'string' ? tried.slice(0, 200) : 'anonymous' };
  }
  const params = req.params as { id?: unknown } | undefined;
  return {
    actor,
    tokenId: action === 'login' ? null : principal.tokenId,
    source: req.ip ?? null,
    action,
    method: req.method,
    path: req.url.split('?')[0]!,
    target: typeof params?.id === 'string' ? params.id : (seen.createdId ?? null),
    project: projectOf(req, action, route, auth),
    outcome: outcomeOf(status),
    status,
    code: errorCodeOf(req) ?? null,
    requestId: req.id,
  };
}

/** The record of a request whose route declared itself (auditAs). */
function describeDeclared(req: FastifyRequest, status: number): NewAudit | null {
  const d = declared.get(req);
  if (!d) return null;
  const principal = d.principal ?? principalOf(req) ?? ANONYMOUS;
  const params = req.params as { id?: unknown } | undefined;
  return {
    actor: { kind: principal.kind, id: principal.userId ?? principal.hostId, name: principal.name },
    tokenId: principal.tokenId,
    source: req.ip ?? null,
    action: d.action,
    method: req.method,
    path: req.url.split('?')[0]!,
    target: d.target ?? (typeof params?.id === 'string' ? params.id : null),
    project: d.project ?? null,
    outcome: outcomeOf(status),
    status,
    code: errorCodeOf(req) ?? null,
    requestId: req.id,
  };
}

/** The request's project; null for platform routes (hosts, users, sign-in, creating a project). */
function projectOf(req: FastifyRequest, action: string, route: RouteDef, auth: Authority): string | null {
  // A route about one project (its quotas, its deletion) belongs to that project's trail even
  // when only an administrator may call it.
  const named = route.projectParam ? (req.params as Record<string, unknown>)[route.projectParam] : undefined;
  if (typeof named === 'string' && named) return named;
  const needed = (routeRoles as Record<string, string>)[action];
  if (!needed || needed === 'admin' || needed === 'signed-in') return null;
  const granted = grantedOf(req);
  if (granted) return granted.project;
  // Refused before authorization finished (or a WebSocket): the project it asked for.
  try {
    return auth.projectOf(req, principalOf(req) ?? ANONYMOUS, route);
  } catch {
    return null;
  }
}

/** Default retention of audit records (`HEARTH_AUDIT_RETENTION`). */
export const DEFAULT_AUDIT_RETENTION = '90d';
const SWEEP_EVERY_MS = 3_600_000;

/**
 * Removes audit records older than `retentionMs`, at once and then hourly, until `dispose()`.
 * A failed sweep is logged and retried on the next round.
 */
export function sweepAuditHourly(
  store: Pick<AuditStore, 'sweep'>,
  retentionMs: number,
  log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void },
): { dispose(): void } {
  const sweep = () =>
    store.sweep(new Date(Date.now() - retentionMs)).then(
      (n) => n && log.info({ removed: n }, 'audit records past their retention removed'),
      (err: unknown) => log.warn({ err }, 'sweeping old audit records failed'),
    );
  void sweep();
  const timer = setInterval(() => void sweep(), SWEEP_EVERY_MS);
  timer.unref();
  return { dispose: () => clearInterval(timer) };
}
