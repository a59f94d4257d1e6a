import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import type { VmmAvailability } from '@hearth/contract';
import { kvmChecks, type HostCheck } from '@hearth/vmm';

const run = promisify(execFile);

/** An executable by absolute path, or the first match on PATH; null when there is none. */
export async function findExecutable(name: string, path = process.env.PATH ?? ''): Promise<string | null> {
  const candidates =
    isAbsolute(name) || name.includes('/') ? [name] : path.split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    if (!c) continue;
    if (
      await access(c, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return c;
  }
  return null;
}

/** `Firecracker v1.13.2` → `1.13.2`. */
export function parseFirecrackerVersion(text: string): string | null {
  return /\bv?(\d+\.\d+\.\d+)\b/.exec(text)?.[1] ?? null;
}

export async function firecrackerVersion(binary: string): Promise<string | null> {
  const { stdout } = await run(binary, ['--version'], { timeout: 10_000 });
  return parseFirecrackerVersion(stdout);
}

export interface FirecrackerProbe {
  availability: VmmAvailability;
  checks: HostCheck[];
  binary: string | null;
  jailer: string | null;
}

/**
 * Firecracker is usable only when its binary runs and KVM is real (/dev/kvm usable and vmx/svm
 * shown); there is no software fallback. Every check is reported, not just the first failure.
 */
export async function probeFirecracker(opts: {
  binary: string;
  /** The jailer to look for; null: the operator opted out of jailing. */
  jailer: string | null;
  /** Trust KVM although the CPU shows neither vmx nor svm (nested or paravirtualized hosts). */
  trustKvm?: boolean;
  /** kvmChecks (tests). */
  kvm?: () => ReturnType<typeof kvmChecks>;
}): Promise<FirecrackerProbe> {
  const { devKvm, cpuFlags: flags } = await (opts.kvm ?? kvmChecks)();
  // The flag check only guards against a /dev/kvm that cannot run guests; the operator may know better.
  const cpuFlags =
    !flags.ok && opts.trustKvm
      ? {
          ...flags,
          ok: true,
          detail: `override: HEARTH_FIRECRACKER_TRUST_KVM=1 (${flags.detail}; KVM trusted as the operator said)`,
        }
      : flags;
  const binary = await findExecutable(opts.binary);
  let version: string | null = null;
  let binCheck: HostCheck;
  if (!binary) {
    binCheck = {
      name: 'firecracker-binary',
      ok: false,
      detail: `${opts.binary} not found (install Firecracker v1.13 on PATH, or set HEARTH_FIRECRACKER_BIN)`,
    };
  } else {
    try {
      version = await firecrackerVersion(binary);
      binCheck = {
        name: 'firecracker-binary',
        ok: true,
        detail: `${binary}: Firecracker ${version ?? '(unknown version)'}`,
      };
    } catch (e) {
      binCheck = {
        name: 'firecracker-binary',
        ok: false,
        detail: `${binary} --version failed: ${(e as Error).message}`,
      };
    }
  }
  const jailer = opts.jailer ? await findExecutable(opts.jailer) : null;
  const jailCheck: HostCheck = jailer
    ? { name: 'firecracker-jailer', ok: true, detail: `${jailer}: VMs run jailed (chroot, own uid, cgroup)` }
    : opts.jailer === null
      ? {
          name: 'firecracker-jailer',
          ok: true,
          detail: `override: HEARTH_FIRECRACKER_NO_JAILER=1: VMs run unjailed, as root, without chroot or cgroup`,
        }
      : {
          name: 'firecracker-jailer',
          ok: false,
          detail: `${opts.jailer} not found: Firecracker never runs unjailed (install the jailer from the Firecracker release, set HEARTH_JAILER_BIN, or opt out with HEARTH_FIRECRACKER_NO_JAILER=1)`,
        };
  const checks = [
    binCheck,
    { ...devKvm, name: 'firecracker-kvm' },
    { ...cpuFlags, name: 'firecracker-cpu' },
    jailCheck,
  ];
  const failed = checks.filter((c) => !c.ok);
  return {
    binary,
    jailer,
    checks,
    availability: {
      kind: 'firecracker',
      available: failed.length === 0,
      accel: failed.length === 0 ? 'kvm' : null,
      version,
      reason: failed.length ? failed.map((c) => c.detail).join('; ') : jailCheck.detail,
    },
  };
}
