import { readFile } from 'node:fs/promises';
import type { Platform } from '../test/helpers/platform.ts';
import { stopReporting } from './report.ts';

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export function stats(label: string, values: number[], unit = 'ms', digits = unit === 'ms' ? 0 : 1): string {
  const f = (n: number) => n.toFixed(digits);
  return `${label.padEnd(44)} n=${values.length}  p50=${f(percentile(values, 50))}${unit}  p95=${f(percentile(values, 95))}${unit}  p99=${f(percentile(values, 99))}${unit}  min=${f(Math.min(...values))}${unit}  max=${f(Math.max(...values))}${unit}`;
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Polls a file until `text` appears; resolves with the time it was seen. */
export async function whenFileContains(path: string, text: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await readFile(path, 'utf8').catch(() => '');
    if (body.includes(text)) return performance.now();
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear in ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Median of five RSS samples a second apart: a heartbeat or a GC lands in one sample, not the figure. */
export async function steadyRssMiB(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i) await new Promise((r) => setTimeout(r, 1000));
    xs.push(await rssMiB(pid));
  }
  return percentile(xs, 50);
}

/**
 * A process's RSS once it has stopped giving memory back after a burst of work (start-up, boots):
 * V8's memory reducer starts about 8 s after the last burst and frees that garbage over the next
 * seconds, so a reading taken at once counts memory about to be returned. Samples each second for
 * at least `minMs`; then the median of the last five, once it is no more than 0.25 MiB below the
 * median of the five before (or at `maxMs`).
 */
export async function settledRssMiB(pid: number, minMs = 15_000, maxMs = 40_000): Promise<number> {
  const xs: number[] = [];
  const t0 = Date.now();
  for (;;) {
    xs.push(await rssMiB(pid));
    const elapsed = Date.now() - t0;
    if (elapsed >= minMs && xs.length >= 10) {
      const last = percentile(xs.slice(-5), 50);
      if (percentile(xs.slice(-10, -5), 50) - last <= 0.25 || elapsed >= maxMs) return last;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Records `count` stopped VMs straight through the store (no boots): the list benchmarks need
 * many rows, not many VMs. Names l-0…, ids sorted in insertion order.
 */
export async function recordBenchVms(p: Platform, count: number): Promise<void> {
  const { stores } = p.manager;
  const [image, kernel] = [
    await stores.images.require('base', 'default'),
    await stores.images.require('kernel-default', 'default'),
  ];
  for (let i = 0; i < count; i++) {
    await stores.vms.insert({
      id: `vm_bench${String(i).padStart(22, '0')}`,
      name: `l-${i}`,
      project: 'default',
      state: 'created',
      desiredState: 'stopped',
      vcpus: 1,
      memoryMib: 128,
      diskMib: 1024,
      imageId: image.id,
      kernelId: kernel.id,
      vmm: 'qemu',
      hostId: p.agent!.hostId,
      ip: null,
      mac: null,
      env: {},
      labels: {},
      timeout: null,
      guest: { secret: '', users: [] },
      snapshotId: null,
    });
  }
}

/**
 * Runs `dispose` (then exits) when the script is stopped with SIGTERM or SIGINT: `npm run bench`
 * stops a script over its time budget with SIGTERM, and its VMs, TAPs and bridge must go with it.
 */
export function disposeOnSignal(dispose: () => Promise<unknown>): void {
  let once = false;
  const stop = (signal: NodeJS.Signals) => {
    if (once) return;
    once = true;
    stopReporting();
    console.error(`stopped by ${signal}: cleaning up`);
    void dispose().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
