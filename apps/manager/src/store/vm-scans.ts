import type { VmState } from '@hearth/contract';
import { and, eq, getTableColumns, inArray, lte, notInArray, or, sql } from 'drizzle-orm';
import type { Orm } from '../db/db.ts';
import { vms } from '../db/schema.ts';
import type { VmRow } from './mappers.ts';

// Queries of loops that run over many VMs (heartbeats, the timeout sweep): each reads only the
// rows it acts on, so thousands of VMs at rest cost them nothing.

/** Every column, and how long ago the row last changed by the database's clock. */
const WITH_AGE = {
  ...getTableColumns(vms),
  age_ms: sql<number>`(extract(epoch FROM (now() - ${vms.updated_at})) * 1000)::float8`.mapWith(Number),
};

/** Every VM recorded on the host. */
export function vmsOnHost(orm: Orm, hostId: string): Promise<VmRow[]> {
  return orm.select(WITH_AGE).from(vms).where(eq(vms.host_id, hostId));
}

/**
 * The host's VMs a complete report is checked against: the ones it reported and every one not
 * resting in `resting` (a VM at rest the host does not report needs nothing). A host with
 * thousands of stopped VMs recorded costs a heartbeat a few rows, not thousands read and mapped
 * while every other request waits.
 */
export function vmsToReconcile(
  orm: Orm,
  hostId: string,
  reported: string[],
  resting: readonly VmState[],
): Promise<VmRow[]> {
  const awake = notInArray(vms.state, [...resting]);
  return orm
    .select(WITH_AGE)
    .from(vms)
    .where(and(eq(vms.host_id, hostId), reported.length ? or(awake, inArray(vms.id, reported)) : awake));
}

/**
 * Running VMs whose timeout has passed (index vms_running_stop_at): the sweep runs every second,
 * and reading every VM recorded for it stalled every other request once a second.
 */
export function expiredRunning(orm: Orm): Promise<VmRow[]> {
  return orm
    .select()
    .from(vms)
    .where(and(eq(vms.state, 'running'), lte(vms.stop_at, sql`now()`)));
}
