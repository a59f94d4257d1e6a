// The drift check's list (schema.test.ts): every table, from every schema file.
import {
  audit,
  hosts,
  idempotencyKeys,
  images,
  memberships,
  networks,
  pools,
  projects,
  sessions,
  snapshots,
  templates,
  tickets,
  tokens,
  users,
  vmEvents,
  vmNics,
  vms,
  volumes,
} from './schema.ts';
import { containerEvents, containers, registryCredentials, secrets } from './schema-containers.ts';
import { e2bSandboxes } from './schema-e2b.ts';
import { webhookDeliveries, webhooks } from './schema-webhooks.ts';
import { functionAliases, functionLogs, functions, functionVersions } from './schema-functions.ts';
import { snapshotSchedules } from './schema-schedules.ts';
import { metricSamples } from './schema-metrics.ts';
import { managerLeases, managerOperations, managerReplicas } from './schema-replicas.ts';
import { hostFences } from './schema-fences.ts';
import { proxyPasses } from './schema-access.ts';
import { vmMoves } from './schema-moves.ts';

/** Every table the migrations create (schema_migrations aside), for the drift check. */
export const tables = {
  hosts,
  host_fences: hostFences,
  tokens,
  images,
  vms,
  vm_events: vmEvents,
  idempotency_keys: idempotencyKeys,
  snapshots,
  volumes,
  templates,
  pools,
  networks,
  vm_nics: vmNics,
  users,
  projects,
  memberships,
  sessions,
  tickets,
  proxy_passes: proxyPasses,
  audit,
  containers,
  container_events: containerEvents,
  secrets,
  registry_credentials: registryCredentials,
  e2b_sandboxes: e2bSandboxes,
  webhooks,
  webhook_deliveries: webhookDeliveries,
  functions,
  function_versions: functionVersions,
  function_aliases: functionAliases,
  function_logs: functionLogs,
  snapshot_schedules: snapshotSchedules,
  metric_samples: metricSamples,
  manager_leases: managerLeases,
  manager_replicas: managerReplicas,
  manager_operations: managerOperations,
  vm_moves: vmMoves,
};
