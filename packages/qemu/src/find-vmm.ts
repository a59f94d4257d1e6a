import { readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { processArgv } from '@hearth/vmm';
import { processCwd } from './confine.ts';

/**
 * The QMP socket path on a QEMU command line, absolute: a confined QEMU names its files relative
 * to its working directory `cwd`, its run directory. Null when the line names no unix QMP socket.
 */
export function qmpPathOf(argv: string[], cwd: string | null): string | null {
  const i = argv.indexOf('-qmp');
  const path = i < 0 ? null : (/^unix:([^,]+)/.exec(argv[i + 1] ?? '')?.[1] ?? null);
  if (!path || isAbsolute(path)) return path;
  return cwd ? join(cwd, path) : null;
}

/** One look at the process table serves an agent's whole adoption pass (one per VM otherwise). */
const SCAN_REUSE_MS = 2000;
let scan: { at: number; table: Promise<Map<string, number>> } | null = null;

async function qmpTable(): Promise<Map<string, number>> {
  const table = new Map<string, number>();
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const argv = await processArgv(pid);
    if (!argv.includes('-qmp')) continue;
    const path = qmpPathOf(argv, await processCwd(pid));
    if (path) table.set(path, pid);
  }
  return table;
}

/**
 * The live QEMU serving `qmpPath`, found by its command line. The agent writes a confined QEMU's
 * pid file after the spawn: an agent killed in between leaves a VMM without one, which its
 * successor must still find (or it would run on, unmanaged, holding the VM's disk).
 */
export async function findQemuByQmp(qmpPath: string): Promise<number | null> {
  if (!scan || performance.now() - scan.at > SCAN_REUSE_MS)
    scan = { at: performance.now(), table: qmpTable() };
  return (await scan.table).get(qmpPath) ?? null;
}
