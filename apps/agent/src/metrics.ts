import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GuestMetrics, VmSample } from '@hearth/contract';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Supervisor } from './vm/index.ts';
import { guestTimings } from './guest/connection.ts';

/** How often each running VM's guest is asked for its metrics (the history's raw step). */
export const SAMPLE_EVERY_MS = 10_000;
/** Guests asked at once: an emulated guest answers in tens of milliseconds, a busy one later. */
const CONCURRENCY = 4;
/**
 * The share of the interval a timed round spreads its requests over: every guest answering costs
 * its emulated CPU, and 50 guests asked back to back kept both cores of a small host busy for
 * half a second every 10 s, which is where exec latencies to other VMs had their tail.
 */
const SPREAD = 0.8;
const SAMPLE_TIMEOUT_MS = 5000;
/** Samples waiting for the next heartbeat, at most (a manager away an hour loses the oldest). */
const PENDING_MAX = 20_000;

interface Last {
  at: number;
  metrics: GuestMetrics;
  sample: VmSample;
}

const traffic = (m: GuestMetrics) =>
  m.network
    .filter((n) => n.name !== 'lo')
    .reduce((a, n) => ({ rx: a.rx + n.rxBytes, tx: a.tx + n.txBytes }), { rx: 0, tx: 0 });

/**
 * Asks every running VM's guest agent for its metrics every 10 s: the last answer of each feeds
 * the agent's /metrics, and every answer goes to the manager with the next heartbeat (history).
 */
export class VmSampler {
  readonly last = new Map<string, Last>();
  private pending: VmSample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private everyMs = SAMPLE_EVERY_MS;
  private readonly stop = new AbortController();

  constructor(
    private readonly sup: Supervisor,
    private readonly log: Logger,
  ) {}

  start(everyMs = SAMPLE_EVERY_MS): void {
    this.everyMs = everyMs;
    this.timer = setInterval(() => void this.sampleAll(true), everyMs);
    this.timer.unref();
  }

  /** The samples taken since the last call (the heartbeat carries them). */
  take(): VmSample[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Put back after a heartbeat that did not arrive; the oldest go first when too many wait. */
  giveBack(samples: VmSample[]): void {
    this.pending = [...samples, ...this.pending].slice(-PENDING_MAX);
  }

  /** One round over the running VMs; `spread`: their requests spaced out over the interval. */
  async sampleAll(spread = false): Promise<void> {
    if (this.running) return this.running;
    this.running = this.run(spread).finally(() => (this.running = null));
    return this.running;
  }

  private async run(spread: boolean): Promise<void> {
    const ids = [...this.sup.runningVmIds()];
    for (const id of this.last.keys()) if (!ids.includes(id)) this.last.delete(id);
    const gapMs = spread ? (this.everyMs * SPREAD) / Math.max(1, ids.length) : 0;
    const inFlight = new Set<Promise<void>>();
    for (const id of ids) {
      if (this.stop.signal.aborted) break;
      while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
      const one: Promise<void> = this.sampleOne(id)
        .catch((e: Error) => this.log.debug({ vm: id, err: e.message }, 'sampling the guest metrics failed'))
        .finally(() => inFlight.delete(one));
      inFlight.add(one);
      if (gapMs)
        await sleep(gapMs, undefined, { ref: false, signal: this.stop.signal }).catch(() => undefined);
    }
    await Promise.all(inFlight);
  }

  private async sampleOne(id: string): Promise<void> {
    const guest = await this.sup.guest(id);
    const m = await guest.request<GuestMetrics>({ op: 'metrics' }, SAMPLE_TIMEOUT_MS);
    const now = Date.now();
    const prev = this.last.get(id);
    let rx: number | null = null;
    let tx: number | null = null;
    if (prev) {
      const dt = (now - prev.at) / 1000;
      const [a, b] = [traffic(prev.metrics), traffic(m)];
      // A counter that went back (the guest rebooted) gives no rate rather than a negative one.
      if (dt > 0 && b.rx >= a.rx && b.tx >= a.tx) {
        rx = (b.rx - a.rx) / dt;
        tx = (b.tx - a.tx) / dt;
      }
    }
    const sample: VmSample = {
      id,
      at: new Date(now).toISOString(),
      cpuPercent: m.cpuPercent,
      memUsedBytes: m.memory.usedBytes,
      memTotalBytes: m.memory.totalBytes,
      diskUsedBytes: m.disk.usedBytes,
      diskTotalBytes: m.disk.totalBytes,
      rxBytesPerSec: rx,
      txBytesPerSec: tx,
    };
    this.last.set(id, { at: now, metrics: m, sample });
    this.pending.push(sample);
    if (this.pending.length > PENDING_MAX) this.pending.splice(0, this.pending.length - PENDING_MAX);
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.stop.abort();
  }
}

/** Who may scrape the agent's /metrics besides the manager (its callback token). */
export interface AgentScrapeAccess {
  /** HEARTH_AGENT_METRICS_TOKEN: a bearer token for the scraper alone. */
  token?: string | null;
  /** HEARTH_AGENT_METRICS_PUBLIC=1: anyone who reaches the agent's port (operator opt-in). */
  public?: boolean;
}

export function scrapeAllowed(req: FastifyRequest, access: AgentScrapeAccess): boolean {
  if (req.url !== '/metrics' || req.method !== 'GET') return false;
  if (access.public) return true;
  if (!access.token) return false;
  const given = Buffer.from(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
  const want = Buffer.from(access.token);
  return given.length === want.length && timingSafeEqual(given, want);
}

const CLK_TCK = 100;

/** CPU seconds and resident memory of a VMM process, from /proc (null when it is gone). */
async function vmmUsage(pid: number): Promise<{ cpu: number; rss: number } | null> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null),
    readFile(`/proc/${pid}/status`, 'utf8').catch(() => null),
  ]);
  if (!stat || !status) return null;
  // Fields after the command (which may hold spaces) start at the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK;
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  return { cpu, rss };
}

/**
 * GET /metrics on the agent: its process, its VMs by phase, and per VM (label `vm`, the VM id;
 * the manager's `hearth_vm_info` names it) the guest's view and the VMM process' usage.
 */
export function agentMetrics(app: FastifyInstance, sup: Supervisor, sampler: VmSampler): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const n of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(n);
  // One series per VM from its last guest sample (a VM without the value has no series).
  type Pick = (m: GuestMetrics) => number | null | undefined;
  const fromSamples = (pick: Pick) =>
    function (this: { reset(): void; inc(labels: { vm: string }, v: number): void }) {
      this.reset();
      for (const [vm, l] of sampler.last) {
        const v = pick(l.metrics);
        if (v !== null && v !== undefined) this.inc({ vm }, v);
      }
    };
  const series = { labelNames: ['vm'] as const, registers: [registry] };
  const perVm = (name: string, help: string, pick: Pick) =>
    new Gauge({ name, help, ...series, collect: fromSamples(pick) });
  const counter = (name: string, help: string, pick: Pick) =>
    new Counter({ name, help, ...series, collect: fromSamples(pick) });
  new Gauge({
    name: 'hearth_agent_vms',
    help: "The agent's VMs by phase.",
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sup.list()) this.inc({ phase: s.phase });
    },
  });
  perVm('hearth_vm_cpu_percent', 'Guest CPU use, percent of its vCPUs (last sample).', (m) => m.cpuPercent);
  perVm('hearth_vm_memory_used_bytes', 'Guest memory in use.', (m) => m.memory.usedBytes);
  perVm('hearth_vm_memory_total_bytes', 'Guest memory.', (m) => m.memory.totalBytes);
  perVm('hearth_vm_disk_used_bytes', 'Guest root filesystem in use.', (m) => m.disk.usedBytes);
  perVm('hearth_vm_disk_total_bytes', 'Guest root filesystem size.', (m) => m.disk.totalBytes);
  counter(
    'hearth_vm_network_receive_bytes_total',
    'Guest bytes received since boot (all but loopback).',
    (m) => traffic(m).rx,
  );
  counter(
    'hearth_vm_network_transmit_bytes_total',
    'Guest bytes sent since boot (all but loopback).',
    (m) => traffic(m).tx,
  );
  counter('hearth_vm_disk_read_bytes_total', 'Guest disk bytes read since boot.', (m) => m.disk.readBytes);
  counter(
    'hearth_vm_disk_written_bytes_total',
    'Guest disk bytes written since boot.',
    (m) => m.disk.writeBytes,
  );
  const vmmRss = new Gauge({
    name: 'hearth_vm_vmm_resident_bytes',
    help: "The VMM process' resident memory.",
    labelNames: ['vm'],
    registers: [registry],
  });
  new Counter({
    name: 'hearth_vm_vmm_cpu_seconds_total',
    help: 'CPU time of the VMM process (guest vCPUs and device emulation).',
    labelNames: ['vm'],
    registers: [registry],
    async collect() {
      this.reset();
      vmmRss.reset();
      for (const s of sup.list()) {
        if (!s.pid) continue;
        const u = await vmmUsage(s.pid);
        if (!u) continue;
        this.inc({ vm: s.id }, u.cpu);
        vmmRss.set({ vm: s.id }, u.rss);
      }
    },
  });
  const guest = new Histogram({
    name: 'hearth_agent_guest_request_duration_seconds',
    help: 'Round trips to guest agents, by op and outcome.',
    labelNames: ['op', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const onGuest = (op: string, s: number, ok: boolean) =>
    guest.observe({ op, outcome: ok ? 'ok' : 'error' }, s);
  guestTimings.on('request', onGuest);
  app.addHook('onClose', async () => void guestTimings.off('request', onGuest));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
