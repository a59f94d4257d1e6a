import { readdirSync, readFileSync } from 'node:fs';

/** Pids of QEMU processes of this VM (by its QEMU name), with their command lines. */
export function qemusOf(vmId: string): { pid: number; argv: string[] }[] {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.includes(`hearth-${vmId}`)) out.push({ pid: Number(d), argv });
  }
  return out;
}
