import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { VmmAvailability } from '@hearth/contract';
import { detectAccel } from '@hearth/vmm';
import { QEMU_BINARY } from './args.ts';

const run = promisify(execFile);

export { detectAccel } from '@hearth/vmm';

export async function probeQemu(binary = QEMU_BINARY): Promise<VmmAvailability & { accelReason: string }> {
  const accel = await detectAccel();
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 10_000 });
    const version = /version (\S+)/.exec(stdout)?.[1] ?? null;
    return {
      kind: 'qemu',
      available: true,
      accel: accel.accel,
      version,
      reason: accel.reason,
      accelReason: accel.reason,
    };
  } catch {
    return {
      kind: 'qemu',
      available: false,
      accel: null,
      version: null,
      reason: `${binary} not found; install Debian's qemu-system-x86 package`,
      accelReason: accel.reason,
    };
  }
}

/**
 * The host's TSC frequency in kHz, or null when it is not known to be constant. Under TCG the
 * guest reads the host's TSC, and a guest kernel calibrating it against the emulated PIT fails
 * when the host is busy ("tsc: Unable to calibrate against PIT"), after which boot can hang.
 * Passing the frequency (`tsc_early_khz=`) makes boots deterministic. See docs/decisions/0003.
 */
export async function hostTscKhz(): Promise<number | null> {
  const sys = await readFile('/sys/devices/system/cpu/cpu0/tsc_freq_khz', 'utf8').catch(() => '');
  if (Number(sys.trim()) > 0) return Number(sys.trim());
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  if (!/\bconstant_tsc\b/.test(flags) || !/\bnonstop_tsc\b/.test(flags)) return null;
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  return mhz > 0 ? Math.round(mhz * 1000) : null;
}
