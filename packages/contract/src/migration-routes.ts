import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';
import { Host } from './host.ts';
import { MigrateVmBody } from './migration.ts';
import { Vm } from './vm.ts';

const def = <const T extends RouteDef>(r: T): T => r;

const MIG_ERR: ErrorCode[] = [
  'VM_NOT_FOUND',
  'HOST_NOT_FOUND',
  'VM_INVALID_STATE',
  'MIGRATION_UNSUPPORTED',
  'MIGRATION_NO_TARGET',
  'MIGRATION_FAILED',
  'MIGRATION_IN_PROGRESS',
  'AGENT_UNREACHABLE',
];

/** Moving VMs between hosts (decisions/0030). */
export const migrationRoutes = {
  migrateVm: def({
    method: 'POST',
    path: '/v1/vms/:id/migrate',
    summary:
      'Move a VM to another host: running QEMU VMs live (disk mirrored, memory pre-copied), running Firecracker VMs by snapshot (not live: paused, snapshotted, copied, resumed there), stopped VMs cold (disk copied). Answers once it runs (or rests) there; progress on its event stream.',
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    body: MigrateVmBody,
    response: Vm,
    status: 200,
    errors: MIG_ERR,
  }),
  drainHost: def({
    method: 'POST',
    path: '/v1/hosts/:id/drain',
    summary:
      'Cordon the host and move every VM off it (running ones live, stopped ones cold); answers at once, progress in `drain` (GET /v1/hosts/:id) and VM events.',
    tag: 'hosts',
    auth: 'user',
    params: IdParam,
    response: Host,
    status: 202,
    errors: ['HOST_NOT_FOUND', 'MIGRATION_IN_PROGRESS'],
  }),
} as const;
