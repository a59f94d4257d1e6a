// API benchmark: VM records created per second with `start: false` (create + delete), on PGlite
// and on PostgreSQL (when HEARTH_TEST_PG_URL is set), and GET /v1/vms latency with 1,000 VMs.
// Usage: node --import tsx bench/api.ts [--records 300] [--vms 1000] [--gets 200]
import { startPlatform } from '../test/helpers/platform.ts';
import { testPgUrl } from '../test/helpers/pg.ts';
import { arg, recordBenchVms, stats } from './lib.ts';

// The default /24 network holds 253 addresses, so a round stays below that.
const records = arg('records', 250);
const total = arg('vms', 1000);
const gets = arg('gets', 200);

for (const db of ['pglite', ...(testPgUrl() ? ['postgres'] : [])] as ('pglite' | 'postgres')[]) {
  const p = await startPlatform({ db });
  try {
    const c = p.client;
    let t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < records; i++) {
      ids.push((await c.call('createVm', { body: { name: `r-${i}`, start: false } })).id);
    }
    const createS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    for (const id of ids) await c.call('deleteVm', { params: { id } });
    await p.manager.vmService.drain();
    const deleteS = (performance.now() - t0) / 1000;
    console.log(
      `\n[${db}] ${records} creates: ${(records / createS).toFixed(0)}/s; ${records} deletes: ${(records / deleteS).toFixed(0)}/s; create+delete pairs: ${(records / (createS + deleteS)).toFixed(0)}/s`,
    );

    // The list needs addresses for 1,000 VMs: give this run a /20.
    await recordBenchVms(p, total);
    for (const limit of [50, 500]) {
      const lat: number[] = [];
      for (let i = 0; i < gets; i++) {
        const s = performance.now();
        const page = await c.call('listVms', { query: { limit } });
        lat.push(performance.now() - s);
        if (page.items.length !== limit) throw new Error('short page');
      }
      console.log(stats(`[${db}] GET /v1/vms?limit=${limit} (${total} VMs)`, lat));
    }
    const all: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      await c.all('listVms');
      all.push(performance.now() - s);
    }
    console.log(stats(`[${db}] all ${total} VMs (2 pages of 500)`, all));
  } finally {
    await p.dispose();
  }
}
