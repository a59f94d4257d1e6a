import { agentAccessRoutes } from '@hearth/contract';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../../db/index.ts';
import { timings } from './timings.ts';

/** Seconds: API calls are mostly milliseconds, boots and snapshots seconds to minutes (TCG). */
const API_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: a heartbeat's reconcile is sub-millisecond to tens of milliseconds per host. */
const RECONCILE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LONG_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];
/** prom-client's default gauges whose names end in `_total`. */
export const NOT_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
const GUEST_CALLS = new Set(Object.keys(agentAccessRoutes));

/**
 * The manager's Prometheus registry (one per app, so in-process managers never share series).
 * Labels are bounded: the route template (never the raw URL), method, status class; host and pool
 * names (operator-made, few); VM states. Per-VM series are the agents' (docs/metrics.md), the
 * manager adds only `hearth_vm_info` to name them.
 */
export function managerMetrics(app: FastifyInstance, db: Db): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters: Prometheus' own lint (promtool) refuses the `_total` suffix on them.
  for (const name of NOT_COUNTERS) registry.removeSingleMetric(name);

  const requests = new Counter({
    name: 'hearth_http_requests_total',
    help: 'API requests answered, by route template, method and status code.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'hearth_http_request_duration_seconds',
    help: 'API request latency, by route template, method and status class (2xx, 4xx, 5xx).',
    labelNames: ['route', 'method', 'status_class'],
    buckets: API_BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    // Unmatched URLs (scanners, typos) share one label value instead of adding a series each.
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    requests.inc({ route, method: req.method, status: String(status) });
    latency.observe(
      { route, method: req.method, status_class: `${Math.floor(status / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  });

  const starts = new Histogram({
    name: 'hearth_vm_start_duration_seconds',
    help: 'Request to running: source cold (boot), restart, snapshot (restore) or pool (warm hand-out).',
    labelNames: ['source'],
    buckets: LONG_BUCKETS,
    registers: [registry],
  });
  const snapshots = new Histogram({
    name: 'hearth_snapshot_duration_seconds',
    help: 'Taking a snapshot on its host, by outcome.',
    labelNames: ['outcome'],
    buckets: LONG_BUCKETS,
    registers: [registry],
  });
  const agentCalls = new Histogram({
    name: 'hearth_agent_call_duration_seconds',
    help: 'Manager to host agent calls, by agent route and outcome.',
    labelNames: ['call', 'outcome'],
    buckets: API_BUCKETS.concat(60, 120, 300),
    registers: [registry],
  });
  const guestCalls = new Histogram({
    name: 'hearth_guest_request_duration_seconds',
    help: 'Round trips to a guest agent through its host agent (exec, files, metrics, processes), by call and outcome.',
    labelNames: ['call', 'outcome'],
    buckets: API_BUCKETS,
    registers: [registry],
  });
  const reconciles = new Histogram({
    name: 'hearth_reconcile_duration_seconds',
    help: "Reconciling one host's report with the records: heartbeat (every VM of the host) or push (changes only).",
    labelNames: ['kind'],
    buckets: RECONCILE_BUCKETS,
    registers: [registry],
  });
  const outcome = (ok: boolean) => (ok ? 'ok' : 'error');
  const onStart = (source: string, s: number) => starts.observe({ source }, s);
  const onSnapshot = (s: number, ok: boolean) => snapshots.observe({ outcome: outcome(ok) }, s);
  const onCall = (call: string, s: number, ok: boolean) => {
    agentCalls.observe({ call, outcome: outcome(ok) }, s);
    if (GUEST_CALLS.has(call)) guestCalls.observe({ call, outcome: outcome(ok) }, s);
  };
  timings.on('start', onStart);
  timings.on('snapshot', onSnapshot);
  timings.on('agentCall', onCall);
  const onReconcile = (kind: string, s: number) => reconciles.observe({ kind }, s);
  timings.on('reconcile', onReconcile);
  app.addHook('onClose', async () => {
    timings.off('start', onStart);
    timings.off('snapshot', onSnapshot);
    timings.off('agentCall', onCall);
    timings.off('reconcile', onReconcile);
  });

  stateGauges(registry, db);
  return registry;
}

/** Gauges read from the database at scrape time: one query each, whatever the VM count. */
function stateGauges(registry: Registry, db: Db): void {
  new Gauge({
    name: 'hearth_vms',
    help: 'VMs by state (every project).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db.query<{ state: string; n: number }>(
        'SELECT state, count(*)::int AS n FROM vms GROUP BY state',
      );
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  new Gauge({
    name: 'hearth_vm_info',
    help: 'One series per VM placed on a host, naming it: join per-VM agent series on `vm`.',
    labelNames: ['vm', 'name', 'project', 'host'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db.query<{ id: string; name: string; project: string; host: string }>(
        `SELECT v.id, v.name, v.project, h.name AS host FROM vms v JOIN hosts h ON h.id = v.host_id
         WHERE v.state IN ('starting', 'running', 'pausing', 'paused', 'resuming', 'stopping', 'pooled')`,
      );
      for (const r of rows) this.set({ vm: r.id, name: r.name, project: r.project, host: r.host }, 1);
    },
  });
  hostGauges(registry, db);
  new Gauge({
    name: 'hearth_pool_vms',
    help: 'Warm pools: VMs ready to hand out, and the size the pool keeps (target).',
    labelNames: ['project', 'pool', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db.query<{ project: string; name: string; size: number; ready: number }>(
        `SELECT p.project, p.name, p.size, count(v.id)::int AS ready FROM pools p
         LEFT JOIN vms v ON v.project = p.project AND v.pool = p.name AND v.state = 'pooled'
           AND (v.boot_profile IS NULL OR v.boot_profile->>'pool' IS NULL)
         GROUP BY p.project, p.name, p.size`,
      );
      for (const r of rows) {
        this.set({ project: r.project, pool: r.name, kind: 'ready' }, Number(r.ready));
        this.set({ project: r.project, pool: r.name, kind: 'target' }, Number(r.size));
      }
    },
  });
}

interface HostRowLite {
  name: string;
  state: string;
  inventory:
    | {
        cpus: number;
        memoryMib: number;
        memoryFreeMib: number;
        diskFreeMib: number;
        cpuPercent?: number | null;
      }
    | string;
  vms: number;
  vcpus: number;
  mem: number;
  disk: number;
}

const MIB = 1024 * 1024;

/** Capacity and allocation per host: what placement sees (docs/scheduling). */
function hostGauges(registry: Registry, db: Db): void {
  const gauge = (name: string, help: string, extra: string[] = []) =>
    new Gauge({ name, help, labelNames: ['host', ...extra], registers: [registry] });
  const up = gauge('hearth_host_up', '1 when the host is ready (heartbeating), 0 when offline.');
  const cpus = gauge('hearth_host_cpus', 'CPUs the host has.');
  const mem = gauge('hearth_host_memory_bytes', 'Memory the host has.');
  const memFree = gauge('hearth_host_memory_free_bytes', 'Memory free on the host at its last heartbeat.');
  const diskFree = gauge(
    'hearth_host_disk_free_bytes',
    'Disk free in the agent data directory at its last heartbeat.',
  );
  const cpuBusy = gauge(
    'hearth_host_cpu_busy_percent',
    'Busy share of all the host CPUs between its last two heartbeats, 0-100.',
  );
  const vms = gauge('hearth_host_vms', 'VMs placed on the host (any state holding resources).');
  const vcpus = gauge('hearth_host_allocated_vcpus', 'vCPUs of the VMs holding the host.');
  const alloc = gauge('hearth_host_allocated_memory_bytes', 'Memory of the VMs holding the host.');
  const disk = gauge('hearth_host_allocated_disk_bytes', 'Disk size of the VMs placed on the host.');
  const all = [up, cpus, mem, memFree, diskFree, cpuBusy, vms, vcpus, alloc, disk];
  // One query fills every host gauge; the first gauge collected runs it for the scrape.
  let pending: Promise<void> | null = null;
  const fill = async () => {
    const rows = await db.query<HostRowLite>(
      `SELECT h.name, h.state, h.inventory,
         count(v.id)::int AS vms, COALESCE(sum(v.vcpus), 0)::int AS vcpus,
         COALESCE(sum(v.memory_mib), 0)::bigint AS mem, COALESCE(sum(v.disk_mib), 0)::bigint AS disk
       FROM hosts h LEFT JOIN vms v ON v.host_id = h.id
         AND v.state IN ('starting', 'running', 'pausing', 'paused', 'resuming', 'stopping', 'pooled')
       GROUP BY h.id`,
    );
    all.forEach((g) => g.reset());
    for (const r of rows) {
      const inv = typeof r.inventory === 'string' ? JSON.parse(r.inventory) : r.inventory;
      const l = { host: r.name };
      up.set(l, r.state === 'ready' ? 1 : 0);
      cpus.set(l, inv.cpus);
      mem.set(l, inv.memoryMib * MIB);
      memFree.set(l, inv.memoryFreeMib * MIB);
      diskFree.set(l, inv.diskFreeMib * MIB);
      // Absent until the host's agent has measured it (registration, an older agent).
      if (typeof inv.cpuPercent === 'number') cpuBusy.set(l, inv.cpuPercent);
      vms.set(l, Number(r.vms));
      vcpus.set(l, Number(r.vcpus));
      alloc.set(l, Number(r.mem) * MIB);
      disk.set(l, Number(r.disk) * MIB);
    }
  };
  for (const g of all) {
    (g as unknown as { collect: () => Promise<void> }).collect = async () => {
      pending ??= fill().finally(() => setImmediate(() => (pending = null)));
      await pending;
    };
  }
}
