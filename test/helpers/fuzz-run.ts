import { randomInt } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from './platform.ts';
import { testPgUrl } from './pg.ts';
import { FuzzLog, fuzzRouteTable, makeRng } from './fuzz.ts';
import { concurrentCreates, fuzzDisconnects, fuzzWebSockets } from './fuzz-streams.ts';

const LISTS = ['vms', 'volumes', 'templates', 'networks', 'images', 'snapshots'] as const;

/** Every record id of every kind, through the public list routes. */
export async function allIds(p: Platform): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of LISTS) {
    let cursor: string | null = null;
    do {
      const url = `${p.manager.url}/v1/${kind}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${p.manager.adminToken}` } });
      if (!res.ok) throw new Error(`listing ${kind} failed: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as {
        items: Array<{ id: string; name: string }>;
        nextCursor?: string | null;
      };
      for (const it of page.items) out.set(it.id, `${kind}/${it.name}`);
      cursor = page.nextCursor ?? null;
    } while (cursor);
  }
  return out;
}

export interface FuzzReport {
  seed: number;
  log: FuzzLog;
  ms: number;
  /** Records that appeared although no request that created them succeeded. */
  strays: string[];
  /** Broken promises of the concurrent creates. */
  createProblems: string[];
  healthy: { healthz: number; hostState: string; exec: string };
  /** The event loop's delay over the run. */
  loopDelayMs: { max: number; p99: number };
}

/** The seed: HEARTH_FUZZ_SEED replays a run; otherwise a fresh one (printed by the caller). */
export const fuzzSeed = () => Number(process.env.HEARTH_FUZZ_SEED ?? randomInt(1, 2 ** 31));

/**
 * Boots one VM, then sends the route table's hostile requests, WebSocket abuse, mid-stream
 * disconnects and concurrent creates at the platform, and reports what it saw.
 */
export async function runFuzz(opts: {
  requests: number;
  seed: number;
  width?: number;
  onVm?: (p: Platform, vm: Vm) => void;
}): Promise<FuzzReport & { dispose(): Promise<void> }> {
  // Pools the fuzz creates stay records: their refills would boot VMs all through the run, and
  // what is under test here is the API's answers, not how many VMs two cores can boot at once.
  const p = await startPlatform({
    db: testPgUrl() ? 'postgres' : 'pglite',
    manager: { poolRefill: false },
  });
  try {
    const created = await p.client.call('createVm', { body: { name: 'fuzz-target', memoryMib: 192 } });
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 300 },
    });
    opts.onVm?.(p, vm);
    const before = await allIds(p);
    const log = new FuzzLog();
    // Manager and agent share this process: what would kill `hearth up` lands here.
    const crash = (e: unknown) => {
      log.count('crash');
      log.failures.push({ what: 'crash', request: '(uncaught)', detail: String((e as Error)?.stack ?? e) });
    };
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
    // Manager, agent and client share one event loop: a hang with a long stall here is the whole
    // process held up (by what, the profile tells), not one route.
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    const profile = await startProfile(process.env.HEARTH_FUZZ_PROFILE);
    const t0 = performance.now();
    let createProblems: string[];
    try {
      const t = { baseUrl: p.manager.url, token: p.manager.adminToken, vmId: vm.id, log };
      const agent = JSON.parse(await readFile(join(p.dir, 'agent', 'agent.json'), 'utf8')) as {
        agentToken: string;
      };
      const target = {
        vmId: vm.id,
        hostId: p.agent!.hostId,
        tokens: { user: p.manager.adminToken, join: p.joinToken, agent: agent.agentToken },
      };
      await fuzzRouteTable({
        baseUrl: p.manager.url,
        target,
        log,
        seed: opts.seed,
        requests: opts.requests,
        width: opts.width ?? 4,
      });
      const rng = makeRng(opts.seed ^ 0x5eed);
      await fuzzWebSockets(t, rng, Math.max(15, Math.round(opts.requests / 100)));
      await fuzzDisconnects(t, Math.max(2, Math.round(opts.requests / 2000)));
      createProblems = await concurrentCreates(t, String(opts.seed));
    } finally {
      process.off('uncaughtException', crash);
      process.off('unhandledRejection', crash);
    }
    const ms = performance.now() - t0;
    lag.disable();
    await profile();

    const after = await allIds(p);
    const strays = [...after]
      .filter(([id]) => !before.has(id) && !log.created.has(id))
      .map(([id, n]) => `${n} (${id})`);
    const healthz = (await fetch(`${p.manager.url}/healthz`)).status;
    const host = (await p.client.call('listHosts', { query: {} })).items[0];
    const exec = await p.client
      .call('execVm', { params: { id: vm.id }, body: { command: ['echo', 'still here'] } })
      .then(
        (r) => r.stdout.trim(),
        (e: Error) => `exec failed: ${e.message}`,
      );
    return {
      seed: opts.seed,
      log,
      ms,
      strays,
      createProblems,
      loopDelayMs: { max: lag.max / 1e6, p99: lag.percentile(99) / 1e6 },
      healthy: { healthz, hostState: host?.state ?? 'missing', exec },
      dispose: () => p.dispose(),
    };
  } catch (e) {
    await p.dispose();
    throw e;
  }
}

/** One paragraph for a log: seed, volume, statuses, time, and the first failures. */
export function summary(r: FuzzReport): string {
  const lines = [
    `fuzz seed=${r.seed} (replay: HEARTH_FUZZ_SEED=${r.seed}) requests=${r.log.sent} in ${(r.ms / 1000).toFixed(1)} s`,
    `statuses: ${r.log.histogram()}`,
    `failures: ${r.log.failures.length}; strays: ${r.strays.length}; concurrent creates: ${r.createProblems.join('; ') || 'ok'}`,
    `event loop delay: max ${r.loopDelayMs.max.toFixed(0)} ms, p99 ${r.loopDelayMs.p99.toFixed(0)} ms`,
    `end: healthz ${r.healthy.healthz}, host ${r.healthy.hostState}, exec "${r.healthy.exec}"`,
  ];
  const byKind = new Map<string, number>();
  for (const f of r.log.failures) {
    const where = f.request
      .split('?')[0]!
      .replace(/\/v1\/vms\/vm_\w+/, '/v1/vms/{vm}')
      .slice(0, 80);
    const k = `${f.what} ${f.status ?? ''} ${where}`;
    byKind.set(k, (byKind.get(k) ?? 0) + 1);
  }
  for (const [k, n] of [...byKind].slice(0, 40)) lines.push(`  ${n}× ${k}`);
  for (const f of r.log.failures.slice(0, 15))
    lines.push(`  e.g. ${f.what} ${f.status ?? ''} ${f.request}: ${f.detail.slice(0, 200)}`);
  for (const s of r.strays.slice(0, 10)) lines.push(`  stray: ${s}`);
  return lines.join('\n');
}

/**
 * HEARTH_FUZZ_PROFILE=FILE writes a CPU profile of the run (open it in Chrome's DevTools): what
 * held the event loop when requests hung.
 */
async function startProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
  return async () => {
    const { profile } = await s.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    s.disconnect();
  };
}
