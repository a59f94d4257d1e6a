import { nicsOf } from './vm-net.ts';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, type AgentVmSpec } from '@hearth/contract';
import type { VmmDriver, VmmSnapshotInfo } from '@hearth/vmm';
import { readFile } from 'node:fs/promises';
import type { GuestConnection } from './guest/connection.ts';

/** What the agent adds beside the VMM's own snapshot files: how to bring the guest back. */
export const SNAPSHOT_META = 'hearth.json';

/** Bytes the snapshot really occupies (sparse disks count only their data). */
export async function snapshotSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) {
    const s = await stat(join(dir, f));
    total += s.blocks * 512;
  }
  return total;
}

// Values travel as environment variables, never spliced into the script text.
const IDENTITY_SCRIPT = `
hostname "$HEARTH_NAME" && echo "$HEARTH_NAME" > /etc/hostname
if [ -n "$HEARTH_IP" ]; then
  ip link set dev eth0 down
  ip link set dev eth0 address "$HEARTH_MAC"
  ip addr flush dev eth0
  ip link set dev eth0 up
  ip addr add "$HEARTH_IP" dev eth0
  ip route replace default via "$HEARTH_GW"
fi
`;

/**
 * A restored guest still believes it is the VM it was saved from, at the time it was saved:
 * set its clock from ours and give it this VM's name, MAC and address (a no-op for an in-place
 * restore, essential for a clone).
 */
export async function adoptIdentity(guest: GuestConnection, spec: AgentVmSpec): Promise<void> {
  await guest.request({ op: 'time.sync', unixMs: Date.now() }, 10_000);
  const n = nicsOf(spec)[0];
  const r = await guest.request<{ exitCode: number | null }>(
    {
      op: 'exec',
      argv: ['/bin/sh', '-c', IDENTITY_SCRIPT],
      env: {
        HEARTH_NAME: spec.name,
        HEARTH_IP: n?.ip ? `${n.ip}/${n.prefix}` : '',
        HEARTH_MAC: n?.mac ?? '',
        HEARTH_GW: n?.gateway ?? '',
      },
      tag: 'hearth-restore',
    },
    30_000,
  );
  if (r.exitCode !== 0)
    throw new Error(`Restoring failed: the guest could not take its new identity (exit ${r.exitCode})`);
}

/**
 * The checks a restore can make before it replaces anything: the snapshot's VMM kind, and for
 * QEMU its version (QEMU loads only its own migration format; Firecracker checks its own).
 */
export async function assertLoadable(driver: VmmDriver, dir: string): Promise<void> {
  const text = await readFile(join(dir, 'snapshot.json'), 'utf8').catch(() => null);
  if (!text) throw new HearthError('SNAPSHOT_INCOMPATIBLE', `the snapshot in ${dir} has no snapshot.json`);
  const info = JSON.parse(text) as VmmSnapshotInfo;
  if (info.vmm !== driver.kind) {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `the snapshot was taken by ${info.vmm}; this VM runs on ${driver.kind}`,
    );
  }
  if (driver.kind === 'qemu') {
    const have = (await driver.probe()).version ?? '';
    const mm = (v: string) => v.split('.').slice(0, 2).join('.');
    if (mm(info.vmmVersion) !== mm(have)) {
      throw new HearthError(
        'SNAPSHOT_INCOMPATIBLE',
        `the snapshot was written by QEMU ${info.vmmVersion} and this host has ${have}; QEMU only loads its own migration format`,
      );
    }
  }
}
