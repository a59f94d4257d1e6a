import { pickFault, type Pending } from './faults.ts';
import { checkCluster, checkWrites, invariantTable, readRecords, type Invariant } from './invariants.ts';
import { runOp } from './ops.ts';
import { seededRng } from './rng.ts';
import { api, errorCode, listVms, SETTLED, type ChaosState, type Step } from './state.ts';
import type { ChaosTopology } from './topology.ts';
import { until } from '../vm.ts';

export interface ChaosOptions {
  seed: number;
  ops: number;
  /** The run stops picking operations after this long (then settles and checks). */
  deadlineMs: number;
  /** Chance that a step injects a fault before its operation. */
  faultRate?: number;
  maxVms?: number;
  /** The longest a fault lasts, in seconds (default 25: under the 60 s after which hosts are unreachable). */
  maxFaultS?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  steps: Step[];
  invariants: Invariant[];
  table: string;
  summary: string;
  durationMs: number;
  ok: boolean;
}

/**
 * One seeded chaos run on a running topology: operations and faults picked by the seed, then every
 * fault healed, the cluster left to settle (bounded), the invariants checked, and everything the
 * run made deleted (and checked again: nothing may be left behind).
 */
export async function runChaos(topo: ChaosTopology, o: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => console.log(l));
  const s: ChaosState = {
    topo,
    rng: seededRng(o.seed),
    replicaRng: seededRng(o.seed ^ 0x9e3779b9),
    seed: o.seed,
    prefix: `c${o.seed.toString(36)}-`,
    vms: new Map(),
    snapshots: new Map(),
    steps: [],
    counter: 0,
    maxVms: o.maxVms ?? 4,
    opTimeoutMs: 420_000,
    log: (l) => log(`[chaos seed=${o.seed}] ${l}`),
  };
  s.log(`start: ${o.ops} ops (replay: HEARTH_CHAOS_SEED=${o.seed} HEARTH_CHAOS_OPS=${o.ops})`);
  const pending: Pending[] = [];
  const record = (step: Omit<Step, 'i'>) => {
    const full = { i: s.steps.length + 1, ...step };
    s.steps.push(full);
    s.log(
      `#${full.i} ${full.kind} ${full.name} ${full.target}: ${full.outcome}${full.code ? ` (${full.code})` : ''} ${(full.ms / 1000).toFixed(1)} s`,
    );
  };
  const timed = async (kind: Step['kind'], name: string, target: string, fn: () => Promise<unknown>) => {
    const t = Date.now();
    try {
      const detail = await fn();
      record({
        kind,
        name,
        target,
        outcome: 'ok',
        code: typeof detail === 'string' ? detail : null,
        ms: Date.now() - t,
      });
      return true;
    } catch (e) {
      record({ kind, name, target, ...errorCode(e), ms: Date.now() - t });
      return false;
    }
  };
  const heal = async (p: Pending): Promise<void> => {
    // A replica cannot start without its database.
    if (p.name === 'kill-manager') {
      const pg = pending.find((x) => x.name === 'restart-pg' && !x.healing);
      if (pg) await heal(pg);
    }
    if (!pending.includes(p) || p.healing) return;
    // It stays listed while it heals, so that no second fault of its kind is injected meanwhile.
    p.healing = true;
    const t = Date.now();
    try {
      await p.heal();
      pending.splice(pending.indexOf(p), 1);
      record({ kind: 'heal', name: p.name, target: p.target, outcome: 'ok', code: null, ms: Date.now() - t });
    } catch (e) {
      record({ kind: 'heal', name: p.name, target: p.target, ...errorCode(e), ms: Date.now() - t });
      s.log(`heal ${p.name} ${p.target} failed: ${(e as Error).message.slice(-1500)}`);
      Object.assign(p, { healing: false, healAt: Date.now() + 2000 });
    }
  };
  // Faults end by time, whatever the operation in flight: a cut link is restored while a call to
  // that host waits, as a real repair would.
  let active = true;
  const healer = (async () => {
    while (active) {
      const due = pending.find((x) => x.healAt <= Date.now());
      if (due) await heal(due);
      else await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    let waiting = false;
    for (let n = 0; n < o.ops && Date.now() - t0 < o.deadlineMs; n++) {
      if (!waiting && s.rng.chance(o.faultRate ?? 0.2)) {
        const f = pickFault(s, pending, o.maxFaultS ?? 25);
        if (f)
          await timed('fault', f.name, f.target, async () => {
            const p = await f.inject();
            if (p) pending.push(p);
          });
      }
      const vms = await listVms(s);
      if (!vms) {
        record({
          kind: 'op',
          name: 'list',
          target: '-',
          outcome: 'error',
          code: 'no replica answered',
          ms: 0,
        });
        // The control plane is down (its database, both replicas): recorded, and the operation
        // taken again once it answers, so that an outage does not use up a short run's budget.
        waiting = true;
        n--;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      waiting = false;
      const op = await runOp(s, vms).catch(() => null);
      if (op) await timed('op', op.name, op.target, op.run);
    }
  } finally {
    active = false;
    await healer;
  }
  if (Date.now() - t0 >= o.deadlineMs)
    s.log(`deadline reached after ${s.steps.filter((x) => x.kind === 'op').length} ops`);

  // Heal in dependency order: the database, then links and agents, then replicas.
  const order = ['restart-pg', 'cut-link', 'kill-agent', 'kill-manager'];
  for (let round = 0; round < 3 && pending.length; round++)
    for (const p of [...pending].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))) await heal(p);
  const invariants = await settleAndCheck(s);
  invariants.push(await cleanUp(s));
  const table = invariantTable(o.seed, invariants);
  const summary = summarize(s.steps);
  s.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s\n${summary}\n${table}`);
  return {
    seed: o.seed,
    steps: s.steps,
    invariants,
    table,
    summary,
    durationMs: Date.now() - t0,
    ok: invariants.every((x) => x.ok),
  };
}

async function settleAndCheck(s: ChaosState): Promise<Invariant[]> {
  for (const h of s.topo.hosts)
    await api(s, 'uncordonHost', (c) => c.call('uncordonHost', { params: { id: h.id } })).catch(
      () => undefined,
    );
  const settled = await until(
    'hosts ready and VMs settled',
    async () => {
      const hosts = await api(s, 'listHosts', (c) => c.all('listHosts')).catch(() => []);
      const vms = await listVms(s);
      return (
        s.topo.hosts.every((h) => hosts.find((x) => x.id === h.id)?.state === 'ready') &&
        !!vms &&
        vms.every((v) => SETTLED.has(v.state))
      );
    },
    300_000,
  ).then(
    () => true,
    () => false,
  );
  s.log(settled ? 'settled' : 'did not settle within 300 s; checking anyway');
  // What runs may trail the records by a report or two: the check is repeated (bounded) until it holds.
  let rows: Invariant[] = [];
  const deadline = Date.now() + 90_000;
  for (;;) {
    const r = await readRecords(s);
    rows = checkCluster(s.topo.hosts, r);
    if (rows.every((x) => x.ok) || Date.now() > deadline) {
      rows.push(
        await checkWrites(
          s,
          r.vms.filter((v) => v.name.startsWith(s.prefix)),
        ),
      );
      return rows;
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** Deletes the run's VMs and snapshots, then checks that nothing of them is left on any host. */
async function cleanUp(s: ChaosState): Promise<Invariant> {
  const snaps = await api(s, 'listSnapshots', (c) => c.all('listSnapshots'));
  for (const x of snaps.filter((x) => x.name.startsWith(s.prefix)))
    await api(s, 'deleteSnapshot', (c) => c.call('deleteSnapshot', { params: { id: x.id } })).catch(
      (e: Error) => s.log(`deleting snapshot ${x.id}: ${e.message}`),
    );
  const vms = (await listVms(s)) ?? [];
  for (const v of vms)
    await api(s, 'deleteVm', (c) => c.call('deleteVm', { params: { id: v.id } })).catch((e: Error) =>
      s.log(`deleting ${v.id}: ${e.message}`),
    );
  await until(
    'the run’s VMs are deleted',
    async () => ((await listVms(s)) ?? [1]).length === 0,
    300_000,
  ).catch(() => s.log('some VMs were not deleted within 300 s'));
  let last: Invariant | null = null;
  const deadline = Date.now() + 60_000;
  do {
    const r = await readRecords(s);
    last = checkCluster(s.topo.hosts, r)[2]!;
    if (last.ok) break;
    await new Promise((res) => setTimeout(res, 2000));
  } while (Date.now() < deadline);
  return { ...last, name: 'nothing left after deleting every VM and snapshot' };
}

function summarize(steps: Step[]): string {
  const count = new Map<string, number>();
  for (const x of steps) {
    const k = `${x.kind} ${x.name} ${x.outcome}`;
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const ops = steps.filter((x) => x.kind === 'op').length;
  const faults = steps.filter((x) => x.kind === 'fault').length;
  const lines = [`${ops} ops, ${faults} faults`];
  for (const [k, n] of [...count].sort()) lines.push(`  ${k.padEnd(36)} ${n}`);
  return lines.join('\n');
}
