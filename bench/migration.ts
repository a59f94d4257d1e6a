// Live-migration benchmark: downtime and total time of `POST /v1/vms/:id/migrate` for QEMU guests
// of 128 and 512 MiB moving back and forth between two agents in network namespaces (one machine,
// TCG), each guest running a small counter loop so that it dirties memory while it moves.
// Usage: node --import tsx bench/migration.ts [--n 5] [--sizes 128,512]
import { startNsCluster } from '../test/helpers/ns-hosts.ts';
import { arg, disposeOnSignal, stats } from './lib.ts';

const n = arg('n', 5);
const at = process.argv.indexOf('--sizes');
const sizes = (at > 0 ? process.argv[at + 1]! : '128,512').split(',').map(Number);

const c = await startNsCluster('hbm', 2);
disposeOnSignal(() => c.dispose());
const { p } = c;
let failures = 0;
try {
  for (const memoryMib of sizes) {
    const created = await p.client.call('createVm', {
      body: { name: `bench-mig-${memoryMib}-${c.tag}`, network: c.network, host: c.hosts[0]!.id, memoryMib },
    });
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 300 },
    });
    await p.client.call('execVm', {
      params: { id: vm.id },
      body: {
        command: `nohup sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null 2>&1 &`,
        timeoutMs: 30_000,
      },
    });
    const down: number[] = [];
    const qemuDown: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < n; i++) {
      const to = c.hosts[(i + 1) % 2]!;
      try {
        const moved = await p.client.call('migrateVm', { params: { id: vm.id }, body: { toHost: to.id } });
        const m = moved.lastMigration!;
        down.push(m.downtimeMs ?? 0);
        qemuDown.push(m.qemuDowntimeMs ?? 0);
        total.push(m.totalMs);
      } catch (e) {
        failures++;
        console.error(`migration ${i + 1} of the ${memoryMib} MiB guest failed: ${(e as Error).message}`);
      }
    }
    console.log(`${memoryMib} MiB guest, ${down.length} live migrations:`);
    console.log(`  ${stats('downtime', down)}`);
    console.log(`  ${stats('downtime (QEMU, source side)', qemuDown)}`);
    console.log(`  ${stats('total', total)}`);
    await p.client.call('deleteVm', { params: { id: vm.id } });
  }
} finally {
  await c.dispose();
}
if (failures) process.exitCode = 1;
