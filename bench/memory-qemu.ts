// The QEMU half of bench/memory.ts: RSS and PSS per idle VM with their breakdown, and whether
// free page reporting returns a guest's freed memory to the host.
import type { Platform } from '../test/helpers/platform.ts';
import { qemuFootprint, type Footprint } from './qemu-smaps.ts';
import { report } from './report.ts';

const TARGET_MIB = 60;
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function line(label: string, fp: Footprint[]): string {
  const f = (pick: (x: Footprint) => number) => avg(fp.map(pick)).toFixed(1);
  return `${label.padEnd(22)} RSS ${f((x) => x.rssMiB)}  PSS ${f((x) => x.pssMiB)}  guest RAM ${f((x) => x.guestRamMiB)}  TCG ${f((x) => x.tcgMiB)}  other ${f((x) => x.otherMiB)} MiB (THP ${f((x) => x.anonHugeMiB)})`;
}

export async function qemuReport(p: Platform, pids: number[]): Promise<void> {
  const idle = await Promise.all(pids.map((pid) => qemuFootprint(pid, 128)));
  console.log(line('QEMU per idle VM (avg)', idle));

  // A burst in one guest: 48 MiB written to tmpfs and freed again, then a settle for the guest's
  // page reporting (it reports 2 s after pages are freed) and QEMU's discards.
  const vm = (await p.client.all('listVms'))[0]!;
  const burst = await p.client.call('execVm', {
    params: { id: vm.id },
    body: { command: ['sh', '-c', 'head -c 50331648 /dev/zero > /dev/shm/burst && rm /dev/shm/burst'] },
  });
  const peak = await qemuFootprint(vm.pid!, 128);
  await new Promise((r) => setTimeout(r, 8000));
  const after = await qemuFootprint(vm.pid!, 128);
  console.log(
    `after a 48 MiB burst in one guest (exit ${burst.exitCode}): guest RAM ${peak.guestRamMiB.toFixed(1)} MiB at once, ${after.guestRamMiB.toFixed(1)} MiB 8 s later`,
  );

  const rss = avg(idle.map((f) => f.rssMiB));
  const pss = avg(idle.map((f) => f.pssMiB));
  report({
    figure: 'QEMU RSS per idle 128 MiB VM',
    value: `RSS ${rss.toFixed(1)} MiB, PSS ${pss.toFixed(1)} MiB (avg of ${idle.length}; guest RAM ${avg(idle.map((f) => f.guestRamMiB)).toFixed(1)}, TCG ${avg(idle.map((f) => f.tcgMiB)).toFixed(1)}, other ${avg(idle.map((f) => f.otherMiB)).toFixed(1)})`,
    baseline: null,
    ratio: null,
    target: `≤ ${TARGET_MIB} MiB`,
    met: rss <= TARGET_MIB,
  });
}
