import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentChecksums } from '@hearth/contract';
import { sha256File } from '@hearth/images';
import { volumePath } from '../volumes.ts';
import type { VmContext } from './context.ts';
import { snapshotDir } from './snapshot.ts';

/** sha256 of each file of a snapshot's directory (flat), by name. */
export async function snapshotFileSums(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    if ((await stat(join(dir, name))).isFile()) out[name] = await sha256File(join(dir, name));
  }
  return out;
}

/** Phases in which a VMM may be writing its volumes. */
const LIVE = new Set(['running', 'paused', 'starting', 'stopping']);

/**
 * Checksums for a backup's manifest or a check after a restore. A volume attached to a VM whose
 * VMM runs is not read: its bytes change while they are read, the sum would describe no state it
 * was ever in. One file at a time: the host serves its VMs meanwhile.
 */
export async function checksums(
  ctx: VmContext,
  want: { volumes: string[]; snapshots: string[] },
): Promise<AgentChecksums> {
  const inUse = new Map<string, string>();
  for (const rec of ctx.vms.values()) {
    if (!LIVE.has(rec.phase)) continue;
    for (const v of rec.spec.volumes ?? []) inUse.set(v.id, rec.spec.id);
  }
  const volumes: AgentChecksums['volumes'] = [];
  for (const id of want.volumes) {
    const vm = inUse.get(id);
    if (vm) {
      volumes.push({ id, sha256: null, reason: `attached to VM ${vm}, which is running: its bytes change` });
      continue;
    }
    const sum = await sha256File(volumePath(ctx.o.dataDir, id)).catch((e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? null : Promise.reject(e),
    );
    volumes.push({ id, sha256: sum, reason: sum ? null : 'its file is missing on the host' });
  }
  const snapshots: AgentChecksums['snapshots'] = [];
  for (const id of want.snapshots) {
    const dir = snapshotDir(ctx, id);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) {
      snapshots.push({ id, files: null, reason: 'its files are missing on the host', missing: true });
      continue;
    }
    snapshots.push({ id, files: await snapshotFileSums(dir), reason: null, missing: false });
  }
  return { volumes, snapshots };
}
