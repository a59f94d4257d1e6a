import type { AgentChecksums } from '@hearth/contract';
import type { AgentClient } from '../services/agent-client.ts';
import type { Stores } from '../store/index.ts';

export type VolumeSum = { sha256: string | null; reason: string | null };
export type SnapshotSum = { files: Record<string, string> | null; reason: string | null };

/** A host that does not answer within this is listed without sums; the backup goes on. */
const HOST_DEADLINE_MS = 5 * 60_000;

/**
 * Asks each host for the sums the manifest needs: its volumes (read now) and those of its
 * snapshots that have none recorded (taken before hosts summed them when they became ready).
 * A host that is not ready or does not answer has its entries listed with null and the reason:
 * a backup of the manager never fails because a host is down.
 */
export async function hostChecksums(
  o: { stores: Stores; agents?: AgentClient | undefined },
  want: { volumes: { id: string; host: string }[]; snapshots: { id: string; host: string }[] },
): Promise<{ volumes: Map<string, VolumeSum>; snapshots: Map<string, SnapshotSum> }> {
  const volumes = new Map<string, VolumeSum>();
  const snapshots = new Map<string, SnapshotSum>();
  const hosts = new Set([...want.volumes, ...want.snapshots].map((x) => x.host));
  for (const hostId of hosts) {
    const vols = want.volumes.filter((v) => v.host === hostId).map((v) => v.id);
    const snaps = want.snapshots.filter((s) => s.host === hostId).map((s) => s.id);
    const unsummed = (reason: string) => {
      for (const id of vols) volumes.set(id, { sha256: null, reason });
      for (const id of snaps) snapshots.set(id, { files: null, reason });
    };
    const host = await o.stores.hosts.get(hostId);
    if (!o.agents) {
      unsummed('this manager has no agent client');
      continue;
    }
    if (!host || host.state !== 'ready') {
      unsummed(`host ${hostId} is ${host?.state ?? 'gone'}; its files were not read`);
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      o.agents.call(host, 'checksums', { body: { volumes: vols, snapshots: snaps } }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${HOST_DEADLINE_MS / 1000} s`)),
          HOST_DEADLINE_MS,
        );
      }),
    ])
      .catch((e: Error) => e)
      .finally(() => clearTimeout(timer));
    if (r instanceof Error) {
      unsummed(`host ${hostId} did not answer (${r.message}); its files were not read`);
      continue;
    }
    const ok = r as AgentChecksums;
    for (const v of ok.volumes) volumes.set(v.id, { sha256: v.sha256, reason: v.reason });
    for (const s of ok.snapshots) snapshots.set(s.id, { files: s.files, reason: s.reason });
  }
  return { volumes, snapshots };
}
