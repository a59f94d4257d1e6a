// Store benchmark: VM records inserted, read back by name, listed a page at a time and moved
// through a state transition (with its event row), straight through the manager's stores on
// PGlite (in memory) and on PostgreSQL (when HEARTH_TEST_PG_URL is set). No HTTP, no agent.
// Wall-clock rates swing with other load on a shared machine, so each step also reports this
// process's CPU time per operation (all of PGlite's work, and the client side of PostgreSQL's).
// Usage: node --import tsx bench/store.ts [--records 2000] [--rounds 3] [--impl <dir holding db/ and store/>]
// --impl lets the same script measure another checkout of apps/manager/src (e.g. before a change).
import { resolve } from 'node:path';
import { freshDatabase, testPgUrl } from '../test/helpers/pg.ts';
import { arg } from './lib.ts';

const records = arg('records', 2000);
const rounds = arg('rounds', 3);
const implFlag = process.argv.indexOf('--impl');
const impl = resolve(implFlag > 0 ? process.argv[implFlag + 1]! : 'apps/manager/src');

type Db = { close(): Promise<void> };
const { openDb } = (await import(`${impl}/db/index.ts`)) as {
  openDb(o: { url?: string | null; pgliteDir: string | null }): Promise<Db>;
};
const { makeStores } = (await import(`${impl}/store/index.ts`)) as {
  makeStores(db: Db): import('../apps/manager/src/store/index.ts').Stores;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function round(db: Db, r: number) {
  const s = makeStores(db);
  const host = await s.hosts.upsert(`bench-${r}`, 'http://127.0.0.1:1', 'x', {
    cpus: 2,
    memoryMib: 4096,
  } as never);
  const image = await s.images.insert({
    name: `bench-img-${r}`,
    kind: 'rootfs',
    format: 'raw',
    arch: 'x86_64',
    sizeBytes: 1,
    sha256: 'x',
    source: 'bench',
    path: '/dev/null',
    builtin: false,
    meta: {},
  });
  const ids: string[] = [];
  const cpu: Record<string, number> = {};
  const timed = async (name: string, fn: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < records; i++) await fn(i);
    const c = process.cpuUsage(c0);
    cpu[name] = (c.user + c.system) / records;
    return records / ((performance.now() - t0) / 1000);
  };
  const insert = await timed('insert', async (i) => {
    const id = `vm_b${r}_${String(i).padStart(8, '0')}`;
    ids.push(id);
    await s.vms.insert({
      id,
      name: `b${r}-${i}`,
      project: 'default',
      state: 'created',
      desiredState: 'stopped',
      vcpus: 1,
      memoryMib: 128,
      diskMib: 1024,
      imageId: image.id,
      kernelId: image.id,
      vmm: 'qemu',
      hostId: host.id,
      ip: null,
      mac: null,
      env: { A: '1' },
      labels: { bench: 'yes' },
      timeout: null,
      guest: { secret: 's', users: [] },
      snapshotId: null,
    });
  });
  const get = await timed('get', (i) => s.vms.require(`b${r}-${i}`, 'default'));
  const transition = await timed('transition', (i) =>
    s.vms.transition(ids[i]!, 'created', 'stopped', 'bench'),
  );
  // Pages of 100 through every VM, counted as rows read per second.
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await s.vms.list({ project: 'default', limit: 100, ...(cursor ? { cursor } : {}) });
    n += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const list = n / ((performance.now() - t0) / 1000);
  const c = process.cpuUsage(c0);
  cpu.list = (c.user + c.system) / n;
  const hostGet = await timed('hostGet', () => s.hosts.require(host.id));
  for (const id of ids) await s.vms.remove(id);
  return { rate: { insert, get, transition, list, hostGet }, cpu };
}

for (const kind of ['pglite', ...(testPgUrl() ? ['postgres'] : [])] as const) {
  const fresh = kind === 'postgres' ? await freshDatabase(testPgUrl()!) : null;
  const db = await openDb({ url: fresh?.url ?? null, pgliteDir: null });
  const results: { rate: Record<string, number>; cpu: Record<string, number> }[] = [];
  try {
    for (let r = 0; r < rounds; r++) results.push(await round(db, r));
  } finally {
    await db.close();
    await fresh?.drop();
  }
  const line = Object.keys(results[0]!.rate)
    .map((k) => {
      const rate = median(results.map((x) => x.rate[k]!)).toFixed(0);
      const us = median(results.map((x) => x.cpu[k]!)).toFixed(k === 'list' ? 1 : 0);
      return `${k} ${rate}/s (${us} µs CPU/op)`;
    })
    .join('; ');
  console.log(`[${kind}] ${records} VMs, median of ${rounds} rounds: ${line}`);
}
