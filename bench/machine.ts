// The machine a bench run measured on, for the line under the performance table.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { detectAccel, QEMU_BINARY } from '@hearth/qemu';
import type { Machine } from './perf-doc.ts';

const run = promisify(execFile);

export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const qemu = await run(QEMU_BINARY, ['--version'], { timeout: 10_000 })
    .then(({ stdout }) => stdout.split('\n')[0]!.trim())
    .catch(() => `${QEMU_BINARY} not found`);
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: release(),
    qemu,
    accel: (await detectAccel()).accel,
    node: process.versions.node,
  };
}
