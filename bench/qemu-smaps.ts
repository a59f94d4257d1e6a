import { readFile } from 'node:fs/promises';

/** One QEMU process's memory, split by what the mappings hold (MiB). */
export interface Footprint {
  rssMiB: number;
  pssMiB: number;
  /** Resident pages of the guest's RAM block (the one anonymous mapping of exactly its size). */
  guestRamMiB: number;
  /** Resident pages of TCG's translation buffer (the anonymous executable mappings). */
  tcgMiB: number;
  /** Everything else: QEMU's heap, its binary and libraries, thread stacks. */
  otherMiB: number;
  /** Of the RSS, how much sits in transparent huge pages. */
  anonHugeMiB: number;
}

const kb = (block: string, field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(block)?.[1] ?? 0);

/** Reads /proc/PID/smaps_rollup and /proc/PID/smaps of a QEMU whose guest has `memoryMib`. */
export async function qemuFootprint(pid: number, memoryMib: number): Promise<Footprint> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8');
  let guest = 0;
  let tcg = 0;
  // Each mapping starts with its address range line; its fields follow.
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [range, perms] = block.split(/\s+/);
    const [lo, hi] = range!.split('-').map((h) => parseInt(h, 16));
    const sizeKb = (hi! - lo!) / 1024;
    const firstLine = block.split('\n', 1)[0]!;
    const anonymous = firstLine.trim().split(/\s+/).length < 6;
    const rss = kb(block, 'Rss');
    if (anonymous && sizeKb === memoryMib * 1024) guest += rss;
    else if (anonymous && perms!.includes('x')) tcg += rss;
  }
  const rss = kb(rollup, 'Rss');
  return {
    rssMiB: rss / 1024,
    pssMiB: kb(rollup, 'Pss') / 1024,
    guestRamMiB: guest / 1024,
    tcgMiB: tcg / 1024,
    otherMiB: (rss - guest - tcg) / 1024,
    anonHugeMiB: kb(rollup, 'AnonHugePages') / 1024,
  };
}
