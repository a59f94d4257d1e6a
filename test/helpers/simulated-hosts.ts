import { randomBytes } from 'node:crypto';
import {
  createServer,
  request,
  Agent as HttpAgent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  agentRoutes,
  routePath,
  routes,
  type AgentRouteId,
  type AgentVmPhase,
  type AgentVmStatus,
  type HostInventory,
  type VmSample,
} from '@hearth/contract';

/**
 * SIMULATED HOSTS, for control-plane scale tests only (bench/cluster-scale.ts and its short test):
 * each one speaks the host agent's protocol to a real manager over HTTP (registers with the join
 * token, heartbeats with the full VM list and guest samples at the agent's interval, pushes status
 * changes it caused itself) and serves the agent API the manager calls, routed and validated with
 * the contract's `agentRoutes`. It boots nothing: a start answers `running` at once, a stop
 * `stopped`. Never a stand-in for the agent in tests of VM behaviour.
 */

/** Roomy enough for 50 small VMs under placement's memory, CPU and disk admission. */
export const simulatedInventory: HostInventory = {
  cpus: 64,
  memoryMib: 262_144,
  memoryFreeMib: 200_000,
  diskFreeMib: 10_000_000,
  kernel: 'simulated',
  arch: 'x64',
  vmms: [{ kind: 'qemu', available: true, accel: 'tcg', version: '7.2', reason: null }],
  checks: [],
  interfaces: [],
  underlay: null,
  cpuPercent: null,
};

interface SimVm {
  phase: AgentVmPhase;
  pid: number | null;
  startedAt: string | null;
}

/** Latencies (ms) the simulated agents saw for their calls to the manager, and failures. */
export interface SimStats {
  heartbeatMs: number[];
  pushMs: number[];
  failures: string[];
}

const ROUTES = (Object.keys(agentRoutes) as AgentRouteId[]).map((id) => {
  const def = agentRoutes[id] as { method: string; path: string; params?: unknown; body?: unknown };
  const names: string[] = [];
  const re = new RegExp(
    '^' +
      def.path.replace(/:(\w+)/g, (_, n: string) => {
        names.push(n);
        return '([^/?]+)';
      }) +
      '(?:\\?.*)?$',
  );
  return { id, def, re, names };
});

/** Keep-alive connections to the manager, shared by every simulated host of the process. */
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 512 });

export class SimulatedHost {
  readonly vms = new Map<string, SimVm>();
  readonly callbackToken = randomBytes(24).toString('hex');
  /** Agent calls the manager made to this host, by route id. */
  readonly calls = new Map<string, number>();
  id = '';
  private token = '';
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextPid = 1000;

  constructor(
    readonly name: string,
    /** The manager this host heartbeats to and reports to. */
    public managerUrl: string,
    private readonly stats: SimStats,
    private readonly heartbeatMs = 5000,
  ) {}

  /** Listens on loopback, registers with the join token and starts heartbeating (first beat jittered). */
  async start(joinToken: string): Promise<void> {
    this.server = createServer((req, res) => this.serve(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    const body = { name: this.name, url, callbackToken: this.callbackToken, inventory: simulatedInventory };
    // Retried like the agent's registration (by name: a retry updates the same host).
    type Registered = { host: { id: string }; agentToken: string };
    let reg: Registered | null = null;
    for (let attempt = 1; !reg; attempt++) {
      try {
        reg = (await this.call('POST', routes.registerHost.path, joinToken, body)) as Registered;
      } catch (e) {
        if (attempt >= 5) throw e;
        this.stats.failures.push(`register ${this.name} (attempt ${attempt}): ${(e as Error).message}`);
      }
    }
    this.id = reg.host.id;
    this.token = reg.agentToken;
    // Real agents start at different moments: spread the beats over the interval.
    const first = setTimeout(() => {
      void this.beat();
      this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    }, Math.random() * this.heartbeatMs);
    this.timer = first;
  }

  /** The list a heartbeat carries: every VM this host holds, with its phase. */
  list(): AgentVmStatus[] {
    return [...this.vms].map(([id, v]) => this.status(id, v));
  }

  /** One heartbeat now (inventory, every VM, a guest sample per running VM). */
  async beat(): Promise<void> {
    const at = new Date().toISOString();
    const samples: VmSample[] = [...this.vms]
      .filter(([, v]) => v.phase === 'running')
      .map(([id]) => ({
        id,
        at,
        cpuPercent: 1,
        memUsedBytes: 50 * 2 ** 20,
        memTotalBytes: 128 * 2 ** 20,
        diskUsedBytes: 2 ** 28,
        diskTotalBytes: 2 ** 30,
        rxBytesPerSec: 0,
        txBytesPerSec: 0,
      }));
    const t0 = performance.now();
    try {
      await this.call('POST', routePath(routes.heartbeat.path, { params: { id: this.id } }), this.token, {
        inventory: simulatedInventory,
        vms: this.list(),
        samples,
      });
      this.stats.heartbeatMs.push(performance.now() - t0);
    } catch (e) {
      this.stats.failures.push(`heartbeat ${this.name}: ${(e as Error).message}`);
    }
  }

  /**
   * A change the agent did not cause (the guest powered off, the VMM died), pushed at once as the
   * agent's report queue does; resolves once the manager answered.
   */
  async changeOutside(vmId: string, phase: AgentVmPhase): Promise<void> {
    const vm = this.vms.get(vmId);
    if (!vm) throw new Error(`simulated host ${this.name} holds no VM ${vmId}`);
    vm.phase = phase;
    if (phase !== 'running' && phase !== 'paused') vm.pid = null;
    const t0 = performance.now();
    await this.call('POST', routePath(routes.reportVmStatus.path, { params: { id: this.id } }), this.token, {
      vms: [this.status(vmId, vm)],
    });
    this.stats.pushMs.push(performance.now() - t0);
  }

  /** Reports to another manager from the next call on (a replica of the same database). */
  moveTo(managerUrl: string): void {
    this.managerUrl = managerUrl;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  private status(id: string, v: SimVm | undefined): AgentVmStatus {
    return {
      id,
      phase: v?.phase ?? 'absent',
      reason: null,
      pid: v?.pid ?? null,
      accel: v ? 'tcg' : null,
      startedAt: v?.startedAt ?? null,
      bootMs: v ? 1 : null,
    };
  }

  private call(method: string, path: string, token: string, body: unknown): Promise<unknown> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.managerUrl),
        {
          method,
          agent: keepAlive,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
          },
          signal: AbortSignal.timeout(120_000),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300)
              reject(new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The agent API: routed by the contract's table, bodies validated by its schemas. */
  private serve(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const fail = (status: number, code: string, message: string) =>
        send(status, { error: { code, message, hint: 'simulated host' } });
      if (req.headers.authorization !== `Bearer ${this.callbackToken}`)
        return fail(401, 'UNAUTHORIZED', 'wrong callback token');
      const url = req.url ?? '';
      const route = ROUTES.find((r) => r.def.method === req.method && r.re.test(url));
      if (!route) return fail(404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${url}`);
      const m = route.re.exec(url)!;
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
      const schema = route.def.body as { safeParse?: (v: unknown) => { success: boolean; error?: unknown } };
      if (schema?.safeParse) {
        let parsed: unknown;
        try {
          parsed = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
        } catch {
          return fail(400, 'VALIDATION_FAILED', 'body is not JSON');
        }
        const check = schema.safeParse(parsed);
        if (!check.success) return fail(400, 'VALIDATION_FAILED', `${route.id}: ${String(check.error)}`);
      }
      this.calls.set(route.id, (this.calls.get(route.id) ?? 0) + 1);
      const answer = this.handle(route.id, params);
      if (!answer) return fail(404, 'ROUTE_NOT_FOUND', `simulated hosts do not serve ${route.id}`);
      send(answer.status, answer.body);
    });
  }

  private handle(id: AgentRouteId, params: Record<string, string>): { status: number; body: unknown } | null {
    const vmId = params.id ?? '';
    const ok = { status: 200, body: { ok: true } };
    const now = new Date().toISOString();
    const set = (phase: AgentVmPhase, fresh = false) => {
      const prev = this.vms.get(vmId);
      const running = phase === 'running' || phase === 'paused';
      const vm: SimVm = {
        phase,
        pid: running ? (fresh || !prev?.pid ? this.nextPid++ : prev.pid) : null,
        startedAt: running ? (fresh || !prev?.startedAt ? now : prev.startedAt) : null,
      };
      this.vms.set(vmId, vm);
      return { status: 200, body: this.status(vmId, vm) };
    };
    switch (id) {
      case 'listVms':
        return { status: 200, body: { vms: this.list() } };
      case 'vmStatus':
        return { status: 200, body: this.status(vmId, this.vms.get(vmId)) };
      case 'startVm':
      case 'restoreVm':
        // Idempotent like the agent's: a VM already running is adopted, not booted again.
        return this.vms.get(vmId)?.phase === 'running' ? set('running') : set('running', true);
      case 'stopVm':
        return set('stopped');
      case 'pauseVm':
        return set('paused');
      case 'resumeVm':
        return set('running');
      case 'deleteVm':
        this.vms.delete(vmId);
        return ok;
      case 'setPorts':
      case 'setNetPolicy':
      case 'setDnsNames':
        return { status: 200, body: this.status(vmId, this.vms.get(vmId)) };
      case 'createVolume':
        return { status: 200, body: { id: params.id, path: `/simulated/${params.id}` } };
      case 'deleteVolume':
      case 'deleteSnapshot':
      case 'ensureNetwork':
      case 'teardownNetwork':
        return ok;
      default:
        return null;
    }
  }
}

/** N simulated hosts sharing one stats record; `managerUrls` are assigned round-robin. */
export async function startSimulatedHosts(o: {
  count: number;
  managerUrls: string[];
  joinToken: string;
  heartbeatMs?: number;
  prefix?: string;
}): Promise<{ hosts: SimulatedHost[]; stats: SimStats; stop: () => Promise<void> }> {
  const stats: SimStats = { heartbeatMs: [], pushMs: [], failures: [] };
  const prefix = o.prefix ?? `sim-${randomBytes(3).toString('hex')}`;
  const hosts = Array.from(
    { length: o.count },
    (_, i) =>
      new SimulatedHost(`${prefix}-${i}`, o.managerUrls[i % o.managerUrls.length]!, stats, o.heartbeatMs),
  );
  const stop = async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  };
  try {
    // Registration in batches: 200 hosts joining at once is not what a real fleet does either.
    for (let i = 0; i < hosts.length; i += 20) {
      await Promise.all(hosts.slice(i, i + 20).map((h) => h.start(o.joinToken)));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { hosts, stats, stop };
}
