// Metrics benchmark: the time to scrape the manager's /metrics with 1,000 VM records (running,
// on one host: each has a hearth_vm_info series and counts in the host's allocation), and the
// history's storage per VM per day (a simulated day of samples every 10 s on an injected clock,
// then the table's size with its index).
// Usage: bash scripts/with-pg.sh node --import tsx bench/metrics.ts [--vms 1000] [--scrapes 200]
//   [--history-vms 20] [--db pglite|postgres] (default: postgres when HEARTH_TEST_PG_URL is set)
import type { VmSample } from '@hearth/contract';
import { startPlatform } from '../test/helpers/platform.ts';
import { registerFakeHost } from '../test/helpers/fake-host.ts';
import { testPgUrl } from '../test/helpers/pg.ts';
import { arg, percentile } from './lib.ts';

const vms = arg('vms', 1000);
const scrapes = arg('scrapes', 200);
const historyVms = arg('history-vms', 20);
const dbArg = process.argv.includes('--db') ? process.argv[process.argv.indexOf('--db') + 1] : null;
const db = (dbArg ?? (testPgUrl() ? 'postgres' : 'pglite')) as 'pglite' | 'postgres';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const clock = { t: T0 };
const p = await startPlatform({
  db,
  agent: false,
  manager: { now: () => clock.t, hostOfflineMs: 24 * 3600_000 },
});
try {
  const m = p.manager;
  await registerFakeHost(m, 'bench-host');
  const host = await m.stores.hosts.require('bench-host');
  const image = await m.stores.images.require('base', 'default');
  const kernel = await m.stores.images.require('kernel-default', 'default');
  await m.db.query(
    `INSERT INTO vms (id, name, project, state, desired_state, vcpus, memory_mib, disk_mib,
       image_id, kernel_id, vmm, host_id)
     SELECT 'vm_bench' || lpad(i::text, 22, '0'), 'm-' || i, 'default', 'running', 'running',
       1, 128, 1024, $1, $2, 'qemu', $3
     FROM generate_series(0, $4::int - 1) AS i`,
    [image.id, kernel.id, host.id, vms],
  );
  const headers = { authorization: `Bearer ${m.adminToken}` };
  // Requests in the counters too: the route labels a real manager has.
  for (let i = 0; i < 50; i++) await m.app.inject({ method: 'GET', url: '/v1/vms?limit=10', headers });
  for (let i = 0; i < 10; i++) await m.app.inject({ method: 'GET', url: '/metrics', headers });
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < scrapes; i++) {
    const t = performance.now();
    const r = await m.app.inject({ method: 'GET', url: '/metrics', headers });
    times.push(performance.now() - t);
    if (r.statusCode !== 200) throw new Error(`scrape answered ${r.statusCode}: ${r.body}`);
    bytes = r.body.length;
  }
  times.sort((a, b) => a - b);
  console.log(
    `scrape /metrics, ${vms} VM records (${db}): p50 ${percentile(times, 50).toFixed(1)} ms, ` +
      `p95 ${percentile(times, 95).toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB, ${scrapes} scrapes`,
  );

  // A day and an hour of samples every 10 s for `historyVms` VMs, through the history itself.
  const ids = Array.from({ length: historyVms }, (_, i) => `vm_bench${String(i).padStart(22, '0')}`);
  const sample = (id: string): VmSample => ({
    id,
    at: new Date(clock.t).toISOString(),
    cpuPercent: Math.random() * 100,
    memUsedBytes: 100e6 + Math.random() * 1e6,
    memTotalBytes: 512 * 2 ** 20,
    diskUsedBytes: 1e9 + Math.random() * 1e6,
    diskTotalBytes: 2 ** 31,
    rxBytesPerSec: Math.random() * 1e5,
    txBytesPerSec: Math.random() * 1e5,
  });
  const t1 = performance.now();
  for (clock.t = T0; clock.t <= T0 + 25 * 3600_000; clock.t += 10_000) {
    await m.history.recordVms(ids.map(sample));
  }
  const simS = (performance.now() - t1) / 1000;
  const rows = await m.history.rowCounts();
  const size = async () =>
    Number(
      (await m.db.query<{ n: string }>(`SELECT pg_total_relation_size('metric_samples')::bigint AS n`))[0]!.n,
    );
  const before = await size();
  await m.db.exec('VACUUM FULL metric_samples');
  const after = await size();
  console.log(
    `history, ${historyVms} VMs, 25 h simulated in ${simS.toFixed(1)} s (${db}): ` +
      `${rows.raw / historyVms} raw + ${rows.minute / historyVms} minute rows per VM; ` +
      `${(after / historyVms / 1024).toFixed(1)} KiB per VM (table and index, compacted), ` +
      `${(before / historyVms / 1024).toFixed(1)} KiB per VM before VACUUM FULL (dead rows of pruned samples)`,
  );
} finally {
  await p.dispose();
}
