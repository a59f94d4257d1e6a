import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GuestMetrics, RouteRole } from '@hearth/contract';
import type { AgentClient } from '../services/agent-client.ts';
import type { Stores } from '../store/index.ts';
import type { Authority } from '../auth/authority.ts';
import { auditAs } from '../auth/audit.ts';
import { e2bCaller, type E2bCaller } from './auth.ts';
import { E2bError } from './errors.ts';
import { ENVD_VERSION, stateOf, type Found, type NewSandbox, type Sandboxes } from './sandboxes.ts';

export interface ControlDeps {
  auth: Authority;
  stores: Stores;
  agents: AgentClient;
  sandboxes: Sandboxes;
  /** The domain of the sandboxes' host names (`<port>-<id>.<domain>`) as told to this request's caller. */
  domainFor: (req: FastifyRequest) => string | null;
}

const DEFAULT_PAGE = 100;
const MAX_PAGE = 100;

/** The `Sandbox` answer of create and connect. */
function created(f: Found & { token: string }, domain: string | null, sandboxes: Sandboxes) {
  return {
    templateID: f.row.template_id,
    sandboxID: f.row.id,
    clientID: 'hearth',
    envdVersion: ENVD_VERSION,
    envdAccessToken: f.token,
    // Only a private sandbox's ports ask for it (E2B's allowPublicTraffic: false).
    trafficAccessToken: f.row.public_traffic ? null : sandboxes.trafficToken(f.row),
    domain,
  };
}

/** `ListedSandbox` (and, with more, `SandboxDetail`). */
function listed(f: Found) {
  return {
    templateID: f.row.template_id,
    sandboxID: f.row.id,
    clientID: 'hearth',
    startedAt: new Date(f.row.started_at).toISOString(),
    endAt: new Date(f.row.end_at).toISOString(),
    cpuCount: f.vm.vcpus,
    memoryMB: f.vm.memoryMib,
    diskSizeMB: f.vm.diskMib,
    metadata: f.row.metadata,
    state: stateOf(f),
    envdVersion: ENVD_VERSION,
  };
}

/**
 * The `metadata` filter as the SDK sends it: `k=v&…` form-encoded, each key and value
 * percent-encoded before that (so encoded twice on the wire; Fastify undid the outer layer).
 */
export function metadataFilter(q: unknown): Record<string, string> {
  if (typeof q !== 'string' || !q) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(q)) {
    try {
      out[decodeURIComponent(k)] = decodeURIComponent(v);
    } catch {
      throw new E2bError(400, 'metadata is not a valid percent-encoded query');
    }
  }
  return out;
}

function statesFilter(q: unknown): string[] | null {
  const raw = Array.isArray(q) ? q.join(',') : typeof q === 'string' ? q : '';
  const states = raw.split(',').filter(Boolean);
  for (const s of states)
    if (s !== 'running' && s !== 'paused') throw new E2bError(400, `unknown state "${s}"`);
  return states.length ? states : null;
}

/**
 * The audit trail's action of each control route (both versions of a route share one), for the
 * trail the rest of the API writes: the state-changing ones whatever the outcome, the reads when
 * refused for their key.
 */
const AUDITED: Record<string, string> = {
  'GET /sandboxes': 'e2bListSandboxes',
  'GET /v2/sandboxes': 'e2bListSandboxes',
  'GET /sandboxes/:id': 'e2bGetSandbox',
  'GET /sandboxes/:id/metrics': 'e2bGetSandboxMetrics',
  'POST /sandboxes': 'e2bCreateSandbox',
  'POST /v2/sandboxes': 'e2bCreateSandbox',
  'POST /sandboxes/:id/connect': 'e2bConnectSandbox',
  'POST /v2/sandboxes/:id/connect': 'e2bConnectSandbox',
  'POST /sandboxes/:id/resume': 'e2bResumeSandbox',
  'DELETE /sandboxes/:id': 'e2bKillSandbox',
  'POST /sandboxes/:id/timeout': 'e2bSetSandboxTimeout',
  'POST /sandboxes/:id/pause': 'e2bPauseSandbox',
};

const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;
const bodyOf = (req: FastifyRequest) => (req.body ?? {}) as Record<string, unknown>;

/** The route a request matched, prefix aside, as AUDITED names it. */
function auditKey(req: FastifyRequest): string {
  const url = (req.routeOptions.url ?? '').replace(/^\/e2b/, '');
  return `${req.method} ${url}`;
}

/** The control plane: what the SDK calls with `X-API-KEY` (docs/e2b.md lists the mapping). */
export function controlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  const { sandboxes } = deps;
  const caller = async (req: FastifyRequest, role: RouteRole): Promise<E2bCaller> => {
    const c = await e2bCaller(req, deps, role);
    if (AUDITED[auditKey(req)]) auditAs(req, { principal: c.principal, project: c.project });
    return c;
  };
  app.addHook('onRequest', async (req) => {
    const action = AUDITED[auditKey(req)];
    if (action) auditAs(req, { action });
  });

  const create = async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const c = await caller(req, 'operator');
    const f = await sandboxes.create(c, bodyOf(req) as NewSandbox);
    auditAs(req, { target: f.row.id });
    return reply.code(201).send(created(f, deps.domainFor(req), sandboxes));
  };
  app.post('/sandboxes', create);
  app.post('/v2/sandboxes', create);

  const connect = async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const c = await caller(req, 'operator');
    const f = await sandboxes.connect(c, idOf(req), bodyOf(req).timeout);
    return reply.code(f.resumed ? 201 : 200).send(created(f, deps.domainFor(req), sandboxes));
  };
  app.post('/sandboxes/:id/connect', connect);
  app.post('/v2/sandboxes/:id/connect', connect);
  // Older SDKs resume explicitly; a running sandbox is a conflict there.
  app.post('/sandboxes/:id/resume', async (req, reply) => {
    const c = await caller(req, 'operator');
    if (stateOf(await sandboxes.get(c.project, idOf(req))) !== 'paused') {
      throw new E2bError(409, `sandbox "${idOf(req)}" is not paused`);
    }
    const f = await sandboxes.connect(c, idOf(req), bodyOf(req).timeout);
    return reply.code(201).send(created(f, deps.domainFor(req), sandboxes));
  });

  const list = async (req: FastifyRequest, reply: import('fastify').FastifyReply, v2: boolean) => {
    const c = await caller(req, 'viewer');
    const q = req.query as Record<string, unknown>;
    const limit = q.limit === undefined ? DEFAULT_PAGE : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new E2bError(400, 'limit must be a positive integer');
    const page = await sandboxes.list(c.project, {
      metadata: metadataFilter(q.metadata),
      states: v2 ? statesFilter(q.state) : ['running'],
      limit: Math.min(limit, MAX_PAGE),
      after: typeof q.nextToken === 'string' && q.nextToken ? q.nextToken : null,
    });
    if (page.next) reply.header('x-next-token', page.next);
    return page.items.map(listed);
  };
  app.get('/sandboxes', (req, reply) => list(req, reply, false));
  app.get('/v2/sandboxes', (req, reply) => list(req, reply, true));

  app.get('/sandboxes/:id', async (req) => {
    const c = await caller(req, 'viewer');
    const f = await sandboxes.get(c.project, idOf(req));
    return { ...listed(f), domain: deps.domainFor(req) };
  });

  app.delete('/sandboxes/:id', async (req, reply) => {
    const c = await caller(req, 'operator');
    await sandboxes.kill(c, idOf(req));
    return reply.code(204).send();
  });

  app.post('/sandboxes/:id/timeout', async (req, reply) => {
    const c = await caller(req, 'operator');
    await sandboxes.setTimeout(c, idOf(req), bodyOf(req).timeout);
    return reply.code(204).send();
  });

  app.post('/sandboxes/:id/pause', async (req, reply) => {
    const c = await caller(req, 'operator');
    if (!(await sandboxes.pause(c, idOf(req)))) {
      throw new E2bError(409, `sandbox "${idOf(req)}" is already paused`);
    }
    return reply.code(204).send();
  });

  app.get('/sandboxes/:id/metrics', async (req) => {
    const c = await caller(req, 'viewer');
    const { vm } = await sandboxes.get(c.project, idOf(req));
    if (vm.state !== 'running' || !vm.host) return [];
    const host = await deps.stores.hosts.require(vm.host);
    const m = (await deps.agents.call(host, 'metrics', { params: { id: vm.id } })) as GuestMetrics;
    const now = new Date();
    return [
      {
        timestamp: now.toISOString(),
        timestampUnix: Math.floor(now.getTime() / 1000),
        cpuCount: vm.vcpus,
        cpuUsedPct: m.cpuPercent,
        memUsed: m.memory.usedBytes,
        memTotal: m.memory.totalBytes,
        memCache: 0,
        diskUsed: m.disk.usedBytes,
        diskTotal: m.disk.totalBytes,
      },
    ];
  });
}
