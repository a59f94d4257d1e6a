import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HearthError, IDENTITY_FULL_FEATURE, type AgentVmSpec } from '@hearth/contract';
import { SNAPSHOT_INFO_FILE, type VmmDriver, type VmmSnapshotInfo } from '@hearth/vmm';
import type { GuestConnection } from '../guest/connection.ts';
import { nicsOf } from '../vm-net.ts';
import { readJson } from './record.ts';

/** What the agent adds beside the VMM's own snapshot files: how to bring the guest back. */
export const SNAPSHOT_META = 'hearth.json';

/**
 * The device set a snapshot's memory expects, recorded in SNAPSHOT_META. A VMM loads saved state
 * only into the same devices; 2 added the config disk and the balloon. Bump it with every change
 * to the devices a VM gets.
 */
export const SNAPSHOT_LAYOUT = 2;

/** The exported VM an imported snapshot was saved from: its id and its NICs' MACs in order. */
export interface ImportedFrom {
  id: string;
  macs: string[];
}

/** SNAPSHOT_META's contents, as written by a snapshot, a disk-only snapshot or an import. */
export interface SnapshotMeta {
  /** A disk-only snapshot (snapshot-disk.ts): no saved memory. */
  kind?: 'disk';
  hasAgent: boolean;
  /** The spec of the VM it was taken of (absent for an imported one). */
  spec?: AgentVmSpec;
  layout?: number;
  volumes?: string[];
  importedFrom?: ImportedFrom;
}

/** A snapshot directory's SNAPSHOT_META, or null when it has none (not a snapshot here). */
export function readSnapshotMeta(dir: string): Promise<SnapshotMeta | null> {
  return readJson<SnapshotMeta>(join(dir, SNAPSHOT_META));
}

/** Refuses a snapshot taken with another device set (no `layout`: before layouts were recorded). */
export function assertLayout(meta: { layout?: number }): void {
  if (meta.layout === SNAPSHOT_LAYOUT) return;
  throw new HearthError(
    'SNAPSHOT_INCOMPATIBLE',
    `Loading the snapshot failed: it was taken with VM device layout ${meta.layout ?? 1}, and VMs here now have layout ${SNAPSHOT_LAYOUT}; saved memory only loads into the devices it was saved with.`,
    { detail: { layout: meta.layout ?? 1, expected: SNAPSHOT_LAYOUT } },
  );
}

/** Bytes the snapshot really occupies (sparse disks count only their data). */
export async function snapshotSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) {
    const s = await stat(join(dir, f));
    total += s.blocks * 512;
  }
  return total;
}

// Values travel as environment variables, never spliced into the script text. HEARTH_NICS holds
// one "OLDMAC NEWMAC ADDR/PREFIX|- GATEWAY|- INDEX" entry per NIC, separated by ';': the interface is
// found by the MAC it had in the snapshot (device order is kept, names need not be).
const IDENTITY_SCRIPT = `
hostname "$HEARTH_NAME" && echo "$HEARTH_NAME" > /etc/hostname
IFS=';'
for nic in $HEARTH_NICS; do
  IFS=' '
  set -- $nic
  dev=""
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && dev=\${d##*/}
  done
  # A guest that changed its MAC itself: fall back to the NIC's usual name.
  if [ -z "$dev" ] && [ -e "/sys/class/net/eth$5" ]; then dev=eth$5; fi
  if [ -z "$dev" ]; then echo "no interface has MAC $1" >&2; exit 3; fi
  ip link set dev "$dev" down
  ip link set dev "$dev" address "$2"
  ip addr flush dev "$dev"
  ip link set dev "$dev" up
  [ "$3" = "-" ] || ip addr add "$3" dev "$dev"
  [ "$4" = "-" ] || ip route replace default via "$4"
done
`;

/**
 * A restored guest still believes it is the VM it was saved from (`source`), at the time it was
 * saved: set its clock from ours and give it this VM's name, and each NIC its MAC and address
 * (a no-op for an in-place restore, essential for a clone). Its random generator is reseeded from
 * this host's bytes (every VM restored from one snapshot, and every restore of it in place,
 * would otherwise continue from the same generator state), and a clone gets a new machine-id.
 */
export async function adoptIdentity(
  guest: GuestConnection,
  spec: AgentVmSpec,
  source: AgentVmSpec | null,
): Promise<void> {
  const before = nicsOf(source ?? spec);
  if (guest.info?.capabilities.includes('identity')) {
    // One request, no process started in the guest.
    await guest
      .request(
        {
          op: 'identity',
          ...(guest.info.capabilities.includes(IDENTITY_FULL_FEATURE)
            ? { entropy: randomBytes(64).toString('base64'), renewMachineId: spec.id !== (source ?? spec).id }
            : {}),
          unixMs: Date.now(),
          hostname: spec.name,
          nics: nicsOf(spec)
            .slice(0, before.length)
            .map((n, index) => ({
              from: before[index]!.mac,
              mac: n.mac,
              address: n.ip ? `${n.ip}/${n.prefix}` : null,
              gateway: n.gateway ?? null,
              index,
            })),
        },
        30_000,
      )
      .catch((e: Error) => {
        throw new HearthError(
          'VM_FAILED',
          `Restoring failed: the guest could not take its new identity (${e.message})`,
        );
      });
    return;
  }
  // A guest agent from before the identity op (its snapshot holds the old agent): a shell script.
  await guest.request({ op: 'time.sync', unixMs: Date.now() }, 10_000);
  const nics = nicsOf(spec)
    .slice(0, before.length)
    .map((n, i) =>
      [before[i]!.mac, n.mac, n.ip ? `${n.ip}/${n.prefix}` : '-', n.gateway ?? '-', i].join(' '),
    );
  const r = await guest.request<{ exitCode: number | null }>(
    {
      op: 'exec',
      argv: ['/bin/sh', '-c', IDENTITY_SCRIPT],
      env: { HEARTH_NAME: spec.name, HEARTH_NICS: nics.join(';') },
      tag: 'hearth-restore',
    },
    30_000,
  );
  if (r.exitCode !== 0) {
    throw new HearthError(
      'VM_FAILED',
      `Restoring failed: the guest could not take its new identity (exit ${r.exitCode})`,
    );
  }
}

/** A driver's VMM version, asked once per driver (each probe spawns the VMM binary). */
const versions = new WeakMap<VmmDriver, Promise<string | null>>();
function versionOf(driver: VmmDriver): Promise<string | null> {
  let v = versions.get(driver);
  if (!v) {
    v = driver.probe().then((p) => {
      if (!p.version) versions.delete(driver);
      return p.version ?? null;
    });
    versions.set(driver, v);
  }
  return v;
}

/**
 * The checks a restore can make before it replaces anything: the snapshot's VMM kind, and for
 * QEMU its version (QEMU loads only its own migration format; Firecracker checks its own).
 */
export async function assertLoadable(driver: VmmDriver, dir: string): Promise<void> {
  const text = await readFile(join(dir, SNAPSHOT_INFO_FILE), 'utf8').catch(() => null);
  if (!text)
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Loading the snapshot in ${dir} failed: it has no ${SNAPSHOT_INFO_FILE}.`,
    );
  const info = JSON.parse(text) as VmmSnapshotInfo;
  if (info.vmm !== driver.kind) {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Loading the snapshot failed: it was taken by ${info.vmm}; this VM runs on ${driver.kind}.`,
    );
  }
  if (driver.kind === 'qemu') {
    const have = (await versionOf(driver)) ?? '';
    const mm = (v: string) => v.split('.').slice(0, 2).join('.');
    if (mm(info.vmmVersion) !== mm(have)) {
      throw new HearthError(
        'SNAPSHOT_INCOMPATIBLE',
        `Loading the snapshot failed: it was written by QEMU ${info.vmmVersion} and this host has ${have}; QEMU only loads its own migration format.`,
      );
    }
  }
}
