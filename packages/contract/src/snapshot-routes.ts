import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam, pageOf } from './common.ts';
import {
  CloneSnapshotBody,
  CreateSnapshotBody,
  ListSnapshotsQuery,
  RestoreVmBody,
  Snapshot,
} from './snapshot.ts';
import { Vm } from './vm.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const SNAP_ERR: ErrorCode[] = ['SNAPSHOT_NOT_FOUND'];

/** Snapshots: memory + device state + disk, restorable in place or as a clone. */
export const snapshotRoutes = {
  createSnapshot: def({
    method: 'POST',
    path: '/v1/vms/:id/snapshots',
    summary:
      'Snapshot a running or paused VM: memory, device state and disk at one instant. The VM continues as it was (paused briefly). `kind: disk`: root disk and volumes only (a stopped VM too).',
    tag: 'snapshots',
    auth: 'user',
    params: IdParam,
    body: CreateSnapshotBody,
    response: Snapshot,
    status: 201,
    errors: [
      'VM_NOT_FOUND',
      'VM_INVALID_STATE',
      'SNAPSHOT_NAME_TAKEN',
      'SNAPSHOT_KIND_UNSUPPORTED',
      'AGENT_ERROR',
      'AGENT_UNREACHABLE',
    ],
  }),
  listSnapshots: def({
    method: 'GET',
    path: '/v1/snapshots',
    summary: 'List snapshots, newest first, with lineage (parent/children) and size on disk.',
    tag: 'snapshots',
    auth: 'user',
    query: ListSnapshotsQuery,
    response: pageOf(Snapshot),
    status: 200,
    errors: [],
  }),
  getSnapshot: def({
    method: 'GET',
    path: '/v1/snapshots/:id',
    summary: 'One snapshot (id or name).',
    tag: 'snapshots',
    auth: 'user',
    params: IdParam,
    response: Snapshot,
    status: 200,
    errors: SNAP_ERR,
  }),
  deleteSnapshot: def({
    method: 'DELETE',
    path: '/v1/snapshots/:id',
    summary: 'Delete a snapshot and its files. VMs cloned from it are independent and unaffected.',
    tag: 'snapshots',
    auth: 'user',
    params: IdParam,
    response: Snapshot,
    status: 200,
    errors: [...SNAP_ERR, 'AGENT_UNREACHABLE'],
  }),
  cloneSnapshot: def({
    method: 'POST',
    path: '/v1/snapshots/:id/restore',
    summary:
      'Restore a snapshot into a new VM (a clone): same memory and disk contents, its own id, name, MAC and address; the guest clock is resynced. A disk-only snapshot gives a clone that boots cold from a copy of the disk.',
    tag: 'snapshots',
    auth: 'user',
    params: IdParam,
    body: CloneSnapshotBody,
    response: Vm,
    status: 201,
    errors: [...SNAP_ERR, 'SNAPSHOT_INCOMPATIBLE', 'VM_NAME_TAKEN', 'NETWORK_EXHAUSTED', 'NO_HOST_AVAILABLE'],
  }),
  restoreVm: def({
    method: 'POST',
    path: '/v1/vms/:id/restore',
    summary:
      'Put a VM back to one of its snapshots, in place: memory, devices and disk as they were; processes keep running from that instant. A disk-only snapshot puts the disks back: a running VM is stopped and boots cold from them, a stopped one stays stopped.',
    tag: 'snapshots',
    auth: 'user',
    params: IdParam,
    body: RestoreVmBody,
    response: Vm,
    status: 202,
    errors: ['VM_NOT_FOUND', ...SNAP_ERR, 'SNAPSHOT_INCOMPATIBLE', 'VM_INVALID_STATE', 'VM_BUSY'],
  }),
} as const;
