// Control-plane scale: SIMULATED HOSTS (test/helpers/simulated-hosts.ts; they speak the agent
// protocol and boot nothing) join `hearth manager` processes started through the CLI on one
// database, VMs are created through the API, and the manager is measured: heartbeat processing,
// GET /v1/vms, event-stream latency, the reconcile loop, memory; with one replica, then two.
// Usage (PostgreSQL, the default; a throwaway server from scripts/with-pg.sh):
//   bash scripts/with-pg.sh node --import tsx bench/cluster-scale.ts [--hosts 200] [--vms 50]
//     [--api-vms 10000 (created through the API; the rest recorded straight into PostgreSQL)] [--replicas 1|2] [--window 30] [--samples 100] [--events 50] [--concurrency 16] [--db pglite]
// PGlite is one process's database: it runs with --replicas 1 only.
import { cpus } from 'node:os';
import { freshDatabase, testPgUrl } from '../test/helpers/pg.ts';
import { arg } from './lib.ts';
import { runClusterScale, type Dist, type ScaleResult } from './cluster-scale-run.ts';

const hosts = arg('hosts', 200);
const vmsPerHost = arg('vms', 50);
const replicas = arg('replicas', 2) === 1 ? 1 : 2;
const dbIdx = process.argv.indexOf('--db');
const db = dbIdx > 0 ? process.argv[dbIdx + 1] : 'postgres';

const f = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '—');
const row = (label: string, d: Dist, extra = '') =>
  `| ${label} | ${d.n} | ${f(d.p50)} | ${f(d.p95)} |${extra ? ` ${extra} |` : ''}`;

function print(r: ScaleResult): void {
  const out: string[] = [];
  out.push(
    `\n${hosts} simulated hosts × ${vmsPerHost} VMs = ${r.total} VMs on ${db}; ` +
      `${r.runningAfterCreate} running after creation.`,
    `Creates through the API (${r.createdViaApi}; the rest seeded): ${r.createPerSec.toFixed(1)} VMs/s (${r.createWallS.toFixed(0)} s wall), ` +
      `request p50 ${f(r.createMs.p50)} ms, p95 ${f(r.createMs.p95)} ms.`,
    `Manager RSS idle (no hosts): ${r.rssIdleMiB.toFixed(0)} MiB.`,
  );
  for (const p of r.phases) {
    out.push(
      `\n### ${p.replicas} replica(s)\n`,
      '| measured | n | p50 ms | p95 ms |',
      '| --- | --- | --- | --- |',
    );
    out.push(row('heartbeat, seen by the host (POST /v1/hosts/:id/heartbeat)', p.heartbeatClient));
    out.push(row('heartbeat, manager-side (request histogram)', p.heartbeatServer));
    out.push(row('reconcile of one heartbeat (hearth_reconcile_duration_seconds)', p.reconcileHeartbeat));
    out.push(row('vm-status push, seen by the host', p.pushClient));
    out.push(row('reconcile of one push', p.reconcilePush));
    for (const [k, d] of Object.entries(p.list)) out.push(row(`GET /v1/vms ${k}`, d));
    for (const [k, d] of Object.entries(p.events)) {
      out.push(row(k, d) + (d.missing ? ` (${d.missing} never arrived)` : ''));
    }
    out.push(`\nManager RSS peak during the phase: ${p.rssMiB.map((x) => `${x.toFixed(0)} MiB`).join(', ')}`);
    out.push(`Load average (1 min) at the end of the phase: ${p.load.toFixed(1)} on ${cpus().length} CPUs`);
    if (p.failures.length) out.push(`Host-side failures: ${p.failures.length}; first: ${p.failures[0]}`);
    for (const line of p.otherReplica) out.push(`- ${line}`);
  }
  out.push(`\nAgent calls the manager made: ${JSON.stringify(r.hostCalls)}`);
  console.log(out.join('\n'));
}

async function main(): Promise<void> {
  let databaseUrl: string | null = null;
  let drop: (() => Promise<void>) | null = null;
  if (db === 'postgres') {
    const base = testPgUrl();
    if (!base) throw new Error('PostgreSQL: run through scripts/with-pg.sh (or set HEARTH_TEST_PG_URL)');
    const fresh = await freshDatabase(base);
    databaseUrl = fresh.url;
    drop = fresh.drop;
  } else if (replicas === 2) throw new Error('PGlite serves one manager process: use --replicas 1');
  const t0 = Date.now();
  try {
    const r = await runClusterScale({
      hosts,
      vmsPerHost,
      replicas,
      databaseUrl,
      concurrency: arg('concurrency', 16),
      apiVms: arg('api-vms', hosts * vmsPerHost),
      windowMs: arg('window', 30) * 1000,
      samples: arg('samples', 100),
      eventSamples: arg('events', 50),
      log: (l) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${l}`),
    });
    print(r);
    console.log(`\nWhole run: ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
  } finally {
    await drop?.();
  }
}

await main();
