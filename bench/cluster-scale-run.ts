// The scenario of bench/cluster-scale.ts (and its short test): SIMULATED HOSTS (control-plane
// scale only, test/helpers/simulated-hosts.ts) join real `hearth manager` processes on one
// database; VMs are created through the API; then heartbeats, GET /v1/vms, the event stream, the
// reconcile loop and the managers' memory are measured, with one replica and then with two.
import { loadavg } from 'node:os';
import pg from 'pg';
import type { StreamEvent, Vm } from '@hearth/contract';
import { startSimulatedHosts, type SimulatedHost, type SimStats } from '../test/helpers/simulated-hosts.ts';
import { percentile } from './lib.ts';
import {
  allVms,
  api,
  followEvents,
  histoDiff,
  histoQuantile,
  managerRss,
  scrapeHisto,
  startManagerProc,
  stopManagerProc,
  type Histo,
  type ManagerProc,
} from './cluster-managers.ts';

export interface ScaleOptions {
  hosts: number;
  vmsPerHost: number;
  /** 1, or 2: a second replica joins after the VMs exist and half the hosts report to it. */
  replicas: 1 | 2;
  databaseUrl: string | null;
  /**
   * VMs created through the API (the rest, PostgreSQL only, are recorded straight into the
   * database as running on their simulated hosts: see seedRunning); default all of them.
   */
  apiVms?: number;
  /** Parallel creates in flight. */
  concurrency?: number;
  /** How long heartbeats are measured per phase (the agent's interval is 5 s). */
  windowMs?: number;
  /** Calls per GET /v1/vms variant, and state changes timed on the event stream. */
  samples?: number;
  eventSamples?: number;
  log?: (line: string) => void;
}

/** p50/p95 in ms (n samples). */
export interface Dist {
  n: number;
  p50: number;
  p95: number;
}

export interface PhaseResult {
  replicas: number;
  heartbeatClient: Dist;
  heartbeatServer: Dist;
  pushClient: Dist;
  reconcileHeartbeat: Dist;
  reconcilePush: Dist;
  list: Record<string, Dist>;
  /** State change (an agent's push, or an API stop) to its SSE event on each replica's stream. */
  events: Record<string, Dist & { missing: number }>;
  rssMiB: number[];
  /** The machine's 1-minute load average at the end of the phase (a shared machine skews all of it). */
  load: number;
  failures: string[];
  /** Two replicas: what the second did with a stop for a VM whose host reports to the first. */
  otherReplica: string[];
}

export interface ScaleResult {
  createMs: Dist;
  /** Created through the API (the rest were seeded). */
  createdViaApi: number;
  createPerSec: number;
  createWallS: number;
  runningAfterCreate: number;
  total: number;
  /** At the end: VMs recorded running whose simulated host holds them running. */
  consistent: number;
  phases: PhaseResult[];
  rssIdleMiB: number;
  hostCalls: Record<string, number>;
}

export const dist = (xs: number[]): Dist => ({
  n: xs.length,
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
});
const histDist = (h: Histo): Dist => ({
  n: h.count,
  p50: histoQuantile(h, 0.5) * 1000,
  p95: histoQuantile(h, 0.95) * 1000,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the whole scenario; always stops what it started. */
export async function runClusterScale(o: ScaleOptions): Promise<ScaleResult> {
  const log = o.log ?? (() => undefined);
  const managers: ManagerProc[] = [];
  let sim: Awaited<ReturnType<typeof startSimulatedHosts>> | null = null;
  try {
    managers.push(await startManagerProc(o.databaseUrl));
    const a = managers[0]!;
    const rssIdleMiB = await managerRss(a);
    sim = await startSimulatedHosts({ count: o.hosts, managerUrls: [a.url], joinToken: a.joinToken });
    log(`${o.hosts} simulated hosts registered`);
    const total = o.hosts * o.vmsPerHost;
    const viaApi = Math.min(total, o.apiVms ?? total);
    const created = await createVms(a, viaApi, o.concurrency ?? 16, log);
    if (viaApi < total) {
      if (!o.databaseUrl) throw new Error('seeding VM records needs PostgreSQL');
      await seedRunning(o.databaseUrl, sim.hosts, viaApi, total);
      log(`${total - viaApi} VM records seeded as running`);
    }
    const vms = await waitAllRunning(a, total, log);
    const phases = [await measurePhase(managers, sim.hosts, sim.stats, vms, o, log)];
    if (o.replicas === 2) {
      managers.push(await startManagerProc(o.databaseUrl));
      const b = managers[1]!;
      // Half the hosts report to the second replica from now on (an agent knows one manager URL).
      sim.hosts.forEach((h, i) => {
        if (i % 2) h.moveTo(b.url);
      });
      await sleep(6000);
      phases.push(await measurePhase(managers, sim.hosts, sim.stats, vms, o, log));
    }
    const final = await allVms(a);
    const held = (v: Vm) => sim!.hosts.find((h) => h.id === v.host)?.vms.get(v.id)?.phase;
    const consistent = final.filter((v) => v.state === 'running' && held(v) === 'running').length;
    const hostCalls: Record<string, number> = {};
    for (const h of sim.hosts) for (const [k, v] of h.calls) hostCalls[k] = (hostCalls[k] ?? 0) + v;
    return { ...created, runningAfterCreate: vms.length, total, consistent, phases, rssIdleMiB, hostCalls };
  } finally {
    await sim?.stop();
    for (const m of managers) await stopManagerProc(m).catch(() => undefined);
  }
}

async function createVms(m: ManagerProc, total: number, concurrency: number, log: (l: string) => void) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const s = performance.now();
      await api(m, 'POST', '/v1/vms', { name: `s-${i}`, vcpus: 1, memoryMib: 128, start: true });
      lat.push(performance.now() - s);
      if (lat.length % 1000 === 0) log(`${lat.length} VMs created`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = (performance.now() - t0) / 1000;
  return { createMs: dist(lat), createPerSec: total / wall, createWallS: wall, createdViaApi: total };
}

/**
 * Records VMs `from`..`to` (names s-<i>) as running, spread evenly over the hosts, in one
 * statement: creating 10,000 through the API serializes on the project's quota lock (see
 * docs/performance.md). Each simulated host holds its VMs before the rows exist, so no heartbeat
 * reports them absent. Same columns a create fills that the list, heartbeats and starts read.
 */
async function seedRunning(databaseUrl: string, hosts: SimulatedHost[], from: number, to: number) {
  const ids: string[] = [];
  const hostIds: string[] = [];
  for (let i = from; i < to; i++) {
    const host = hosts[i % hosts.length]!;
    const id = `vm_seed${String(i).padStart(23, '0')}`;
    host.vms.set(id, { phase: 'running', pid: 100_000 + i, startedAt: new Date().toISOString() });
    ids.push(id);
    hostIds.push(host.id);
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO vms (id, name, project, state, desired_state, vcpus, memory_mib, disk_mib,
         image_id, kernel_id, vmm, accel, host_id, started_at)
       SELECT v.id, 's-' || ($5::int + v.n - 1), 'default', 'running', 'running', 1, 128, t.disk_mib,
         t.image_id, t.kernel_id, t.vmm, t.accel, v.host, now()
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(id, host, n),
         (SELECT disk_mib, image_id, kernel_id, vmm, accel FROM vms WHERE name = $3 AND project = $4) t`,
      [ids, hostIds, 's-0', 'default', from],
    );
  } finally {
    await client.end();
  }
}

async function waitAllRunning(m: ManagerProc, total: number, log: (l: string) => void): Promise<Vm[]> {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    const vms = await allVms(m);
    const running = vms.filter((v) => v.state === 'running');
    if (running.length === total) return running;
    const bad = vms.filter((v) => v.state === 'failed');
    if (bad.length || Date.now() > deadline) {
      throw new Error(
        `${running.length}/${total} VMs running; ${bad.length} failed (${bad[0]?.stateReason ?? '-'})`,
      );
    }
    log(`${running.length}/${total} VMs running`);
    await sleep(2000);
  }
}

async function measurePhase(
  managers: ManagerProc[],
  hosts: SimulatedHost[],
  stats: SimStats,
  vms: Vm[],
  o: ScaleOptions,
  log: (l: string) => void,
): Promise<PhaseResult> {
  const n = o.samples ?? 100;
  const before = await scrapeAll(managers);
  stats.heartbeatMs.length = 0;
  stats.pushMs.length = 0;
  stats.failures.length = 0;
  const rss: number[] = [];
  const rssTimer = setInterval(() => {
    void Promise.all(managers.map(managerRss)).then((xs) =>
      xs.forEach((x, i) => (rss[i] = Math.max(rss[i] ?? 0, x))),
    );
  }, 1000);
  try {
    const windowEnd = Date.now() + (o.windowMs ?? 30_000);
    const list = await measureList(managers, hosts, n);
    const events = await measureEvents(managers, hosts, vms, Math.min(o.eventSamples ?? 50, vms.length), log);
    // The rest of the window: heartbeats alone.
    while (Date.now() < windowEnd) await sleep(250);
    const after = await scrapeAll(managers);
    const sum = (k: keyof (typeof after)[0]) =>
      after.map((h, i) => histoDiff(h[k], before[i]![k])).reduce(mergeHisto);
    log(`phase with ${managers.length} replica(s) measured`);
    return {
      replicas: managers.length,
      heartbeatClient: dist(stats.heartbeatMs),
      heartbeatServer: histDist(sum('heartbeat')),
      pushClient: dist(stats.pushMs),
      reconcileHeartbeat: histDist(sum('reconcileHeartbeat')),
      reconcilePush: histDist(sum('reconcilePush')),
      list,
      events,
      rssMiB: rss,
      load: loadavg()[0]!,
      failures: [...stats.failures],
      otherReplica: await probeOtherReplica(managers, hosts, vms, 3),
    };
  } finally {
    clearInterval(rssTimer);
  }
}

function mergeHisto(a: Histo, b: Histo): Histo {
  const buckets = new Map(a.buckets);
  for (const [le, v] of b.buckets) buckets.set(le, (buckets.get(le) ?? 0) + v);
  return { buckets, count: a.count + b.count, sum: a.sum + b.sum };
}

function scrapeAll(managers: ManagerProc[]) {
  return Promise.all(
    managers.map(async (m) => ({
      heartbeat: await scrapeHisto(m, 'hearth_http_request_duration_seconds', {
        route: '/v1/hosts/:id/heartbeat',
        status_class: '2xx',
      }),
      reconcileHeartbeat: await scrapeHisto(m, 'hearth_reconcile_duration_seconds', { kind: 'heartbeat' }),
      reconcilePush: await scrapeHisto(m, 'hearth_reconcile_duration_seconds', { kind: 'push' }),
    })),
  );
}

/** GET /v1/vms variants, n calls each, round-robin over the replicas. */
async function measureList(managers: ManagerProc[], hosts: SimulatedHost[], n: number) {
  const mid = await api<{ nextCursor: string | null }>(managers[0]!, 'GET', '/v1/vms?limit=500');
  const variants: Record<string, string> = {
    'default page (50)': '/v1/vms',
    'limit=500': '/v1/vms?limit=500',
    'state=running': '/v1/vms?state=running',
    'host=<one host>': `/v1/vms?host=${hosts[0]!.id}`,
    'name prefix': '/v1/vms?name=s-12',
    'next page (cursor)': `/v1/vms?cursor=${encodeURIComponent(mid.nextCursor ?? '')}`,
  };
  const out: Record<string, Dist> = {};
  for (const [label, path] of Object.entries(variants)) {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await api(managers[i % managers.length]!, 'GET', path);
      xs.push(performance.now() - t);
    }
    out[label] = dist(xs);
  }
  return out;
}

/**
 * The event stream: a VM stopped by its host (a push) and started again through the API (the
 * replica its host reports to), each timed from the request to the VM's event with the new state
 * on every replica's stream. The other replicas' streams get 2 s past the home replica's event.
 */
async function measureEvents(
  managers: ManagerProc[],
  hosts: SimulatedHost[],
  vms: Vm[],
  n: number,
  log: (l: string) => void,
) {
  const byHost = new Map(hosts.map((h) => [h.id, h]));
  const streams = await Promise.all(managers.map(followEvents));
  const lat: Record<string, number[]> = {};
  const missing: Record<string, number> = {};
  const is = (id: string, state: string) => (e: StreamEvent) =>
    e.type === 'vm' && e.vm.id === id && e.vm.state === state;
  /** Times one change on every stream: the home replica's first, then the others with a grace. */
  const timeChange = async (
    what: string,
    home: number,
    id: string,
    state: string,
    act: () => Promise<unknown>,
  ) => {
    const marks = streams.map((s) => s.seen.length);
    const t0 = performance.now();
    await act();
    const homeAt = await streams[home]!.waitFor(is(id, state), marks[home]!, 15_000);
    const ats = await Promise.all(
      streams.map((s, k) => (k === home ? homeAt : s.waitFor(is(id, state), marks[k]!, 2000))),
    );
    ats.forEach((at, k) => {
      const key = `${what} → event, ${k === home ? 'same replica' : 'other replica'}`;
      lat[key] ??= [];
      missing[key] ??= 0;
      if (at === null) missing[key]++;
      else lat[key].push(at - t0);
    });
    return homeAt !== null;
  };
  try {
    for (let i = 0; i < n; i++) {
      const vm = vms[(i * 7919) % vms.length]!;
      const host = byHost.get(vm.host ?? '');
      if (!host) throw new Error(`VM ${vm.id} is on no simulated host`);
      const home = Math.max(
        0,
        managers.findIndex((m) => m.url === host.managerUrl),
      );
      await timeChange('host push (stopped)', home, vm.id, 'stopped', () =>
        host.changeOutside(vm.id, 'stopped'),
      );
      const ok = await timeChange('API start', home, vm.id, 'running', () =>
        api(managers[home]!, 'POST', `/v1/vms/${vm.id}/start`),
      );
      if (!ok) {
        const now = await api<Vm>(managers[0]!, 'GET', `/v1/vms/${vm.id}`);
        log(`VM ${vm.id} is ${now.state} after its start (${now.stateReason ?? ''})`);
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.close()));
  }
  return Object.fromEntries(Object.entries(lat).map(([k, xs]) => [k, { ...dist(xs), missing: missing[k]! }]));
}

/**
 * A second replica asked to act on a VM whose host reports to the first only: what it answers and
 * where the VM ends (the replica knows a host's agent only once that agent spoke to it).
 */
export async function probeOtherReplica(
  managers: ManagerProc[],
  hosts: SimulatedHost[],
  vms: Vm[],
  count: number,
): Promise<string[]> {
  const [a, b] = managers;
  if (!a || !b) return [];
  const onA = new Set(hosts.filter((h) => h.managerUrl === a.url).map((h) => h.id));
  const picked = vms.filter((v) => onA.has(v.host ?? '')).slice(-count);
  return Promise.all(
    picked.map(async (vm) => {
      const t0 = performance.now();
      const answer = await api<Vm>(b, 'POST', `/v1/vms/${vm.id}/stop`).then(
        (v) => `answered ${v.state}`,
        (e: Error) => `refused: ${e.message.slice(0, 120)}`,
      );
      const deadline = Date.now() + 30_000;
      let now = await api<Vm>(a, 'GET', `/v1/vms/${vm.id}`);
      while (now.state === 'stopping' && Date.now() < deadline) {
        await sleep(500);
        now = await api<Vm>(a, 'GET', `/v1/vms/${vm.id}`);
      }
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      return `stop of ${vm.id} through replica 2: ${answer}; after ${s} s the VM is ${now.state}${now.stateReason ? ` (${now.stateReason})` : ''}`;
    }),
  );
}
