import { readFileSync } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';

/** One named host check with the reason it passed or failed; `hearth doctor` prints these. */
export interface HostCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * The two halves of "hardware virtualization works here": /dev/kvm opens read-write, and the CPU
 * advertises vmx/svm. Some hosts expose a paravirtual /dev/kvm that cannot run ordinary guests
 * (they hang at boot); the flag check catches those.
 */
export async function kvmChecks(): Promise<{ devKvm: HostCheck; cpuFlags: HostCheck }> {
  const devKvm = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => ({ name: 'kvm-device', ok: true, detail: '/dev/kvm is readable and writable' }),
    (e: NodeJS.ErrnoException) => ({
      name: 'kvm-device',
      ok: false,
      detail:
        e.code === 'ENOENT'
          ? '/dev/kvm is missing (load kvm_intel or kvm_amd, or enable nested virtualization)'
          : `/dev/kvm is not accessible (${e.code ?? e.message})`,
    }),
  );
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const flag = /^flags\s*:.*\b(vmx|svm)\b/m.exec(cpuinfo)?.[1];
  const cpuFlags = flag
    ? { name: 'cpu-virtualization', ok: true, detail: `the CPU shows ${flag}` }
    : { name: 'cpu-virtualization', ok: false, detail: 'the CPU shows neither vmx nor svm' };
  return { devKvm, cpuFlags };
}

export interface AccelCheck {
  accel: 'kvm' | 'tcg';
  reason: string;
}

/** KVM only when both kvmChecks pass; otherwise TCG (software emulation), with the reason. */
export async function detectAccel(): Promise<AccelCheck> {
  const { devKvm, cpuFlags } = await kvmChecks();
  if (!devKvm.ok) return { accel: 'tcg', reason: `${devKvm.detail}; using TCG (software emulation)` };
  if (!cpuFlags.ok) {
    return { accel: 'tcg', reason: `/dev/kvm exists but ${cpuFlags.detail}; using TCG (software emulation)` };
  }
  return { accel: 'kvm', reason: 'KVM with hardware virtualization' };
}

/**
 * True while the process exists and has not exited. A zombie (exited, not yet reaped: common
 * when our VMMs are re-parented to an init that does not reap) counts as gone.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat = '';
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return !/ Z /.test(stat.slice(stat.lastIndexOf(')')));
}

/** The argv of a live process (NUL-separated in /proc), or [] when it is gone or unreadable. */
export async function processArgv(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw.split('\0').filter(Boolean);
}
