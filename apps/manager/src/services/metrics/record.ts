import type { HeartbeatBody } from '@hearth/contract';
import type { Stores } from '../../store/index.ts';
import { hostFromRow } from '../../store/mappers.ts';
import type { MetricsHistory } from './history.ts';

const MIB = 1024 * 1024;

/**
 * Keeps what a heartbeat brings for the charts: the host's memory, disk and allocation (read
 * with the allocation join only when a sample is due, every 10 s) and its VMs' guest samples.
 */
export async function recordHeartbeat(
  history: MetricsHistory,
  stores: Stores,
  hostId: string,
  body: HeartbeatBody,
): Promise<void> {
  if (history.due('host', hostId)) {
    const host = hostFromRow(await stores.hosts.require(hostId));
    const inv = body.inventory;
    await history.recordHost(hostId, {
      memUsedBytes: (inv.memoryMib - inv.memoryFreeMib) * MIB,
      memTotalBytes: inv.memoryMib * MIB,
      diskFreeBytes: inv.diskFreeMib * MIB,
      vmCount: host.vmCount,
      allocatedVcpus: host.allocatedVcpus,
      allocatedMemoryBytes: host.allocatedMemoryMib * MIB,
      cpuPercent: inv.cpuPercent ?? null,
    });
  }
  const samples = body.samples ?? [];
  if (!samples.length) return;
  // Only VMs the manager placed on this host: an agent speaks for its own VMs alone.
  const mine = new Set(await history.vmsOn(hostId));
  const kept = samples.filter((s) => mine.has(s.id));
  if (kept.length) await history.recordVms(kept);
}
