import { z } from 'zod';
import {
  AgentDnsNamesBody,
  AgentNetPolicy,
  AgentRestoreBody,
  AgentSnapshotQuery,
  AgentSnapshotResult,
  AgentStopBody,
  AgentTeardownNetworkBody,
  AgentVmSpec,
  AgentVmStatus,
} from './agent.ts';
import { LogsQuery } from './vm.ts';
import { AppStatus } from './app-status.ts';
import { ContainerLogsQuery } from './container.ts';
import { AppControlAction } from './guest-protocol.ts';
import { AgentTlsMaterial } from './host.ts';
import { agentAccessRoutes, AgentVmParams } from './agent-access-routes.ts';
import { agentPortRoutes } from './port-access.ts';
import { agentExportRoutes } from './agent-export-routes.ts';
import { agentMigrateRoutes } from './agent-migrate-routes.ts';
import { agentMigrateSnapshotRoutes } from './agent-migrate-snapshot-routes.ts';
import { agentSnapshotMoveRoutes } from './agent-snapshot-move-routes.ts';
import { routePath, type RouteInput, type RouteOutput, type RouteShape } from './route-path.ts';

/** A route the host agent serves; only the manager calls it (bearer: the agent's callback token). */
export interface AgentRouteDef extends RouteShape {
  path: `/agent/v1/${string}`;
  summary: string;
  /** Routes outside plain JSON: streamed bodies, or a WebSocket upgrade. */
  raw?: { produces?: string[]; consumes?: string[]; websocket?: boolean };
}

const def = <const T extends AgentRouteDef>(r: T): T => r;

export const AgentSnapshotParams = z.object({ snapshotId: z.string().min(1) });
export const AgentVolumeParams = z.object({ id: z.string().min(1) });
export const AgentCreateVolumeBody = z.object({
  sizeMib: z.number().int().positive(),
  format: z.enum(['raw', 'ext4']),
  imagePath: z.string().nullable().describe("An image on the agent's host to copy in; null: empty"),
});
export const AgentResizeVolumeBody = z.object({
  sizeMib: z.number().int().positive(),
  format: z.enum(['raw', 'ext4']),
});
/** Rotation: the agent's new credential towards the manager and the manager's towards it. */
export const AgentCredentials = z.strictObject({
  agentToken: z.string().min(32),
  callbackToken: z.string().min(32),
  /** A new key and certificate from the manager's CA (agents serving issued certificates only). */
  tls: AgentTlsMaterial.optional(),
});
export type AgentCredentials = z.infer<typeof AgentCredentials>;
const Ok = z.object({ ok: z.boolean() });
const vmAction = (action: string, summary: string) =>
  def({
    method: 'POST',
    path: `/agent/v1/vms/:id/${action}`,
    summary,
    params: AgentVmParams,
    response: AgentVmStatus,
  });

/** Stop (stop signal, then SIGKILL after the grace period), start, restart or signal the app. */
export const AppControlBody = z.strictObject({
  action: AppControlAction,
  signal: z.string().optional().describe('For `signal`: a name (TERM, SIGHUP) or a number'),
});
export type AppControlBody = z.infer<typeof AppControlBody>;

/**
 * Every route of the host agent's API. The agent registers exactly these (validating params,
 * query and body with these schemas); the manager's agent client calls them by id.
 */
export const agentRoutes = {
  listVms: def({
    method: 'GET',
    path: '/agent/v1/vms',
    summary: 'Every VM this agent knows, with its observed phase.',
    response: z.object({ vms: z.array(AgentVmStatus) }),
  }),
  vmStatus: def({
    method: 'GET',
    path: '/agent/v1/vms/:id',
    summary: 'One VM as this agent sees it (`absent` when it has no trace of it).',
    params: AgentVmParams,
    response: AgentVmStatus,
  }),
  startVm: def({
    ...vmAction('start', 'Start (or adopt) a VM from its spec; answers once it booted.'),
    body: AgentVmSpec,
  }),
  stopVm: def({
    ...vmAction('stop', 'Stop a VM: guest shutdown, then kill after `timeoutMs`.'),
    body: AgentStopBody,
  }),
  pauseVm: vmAction('pause', 'Pause a running VM.'),
  resumeVm: vmAction('resume', 'Resume a paused VM.'),
  deleteVm: def({
    method: 'DELETE',
    path: '/agent/v1/vms/:id',
    summary: 'Stop a VM if needed and remove its VMM, run directory and disk.',
    params: AgentVmParams,
    response: Ok,
  }),
  vmLogs: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/logs',
    summary: "The tail of the VM's serial console log (text/plain).",
    params: AgentVmParams,
    query: LogsQuery,
    response: null,
  }),
  snapshotVm: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/snapshots/:snapshotId',
    summary: 'Snapshot a VM (memory and disk, or `kind=disk`: disks only) under the given snapshot id.',
    params: AgentVmParams.extend(AgentSnapshotParams.shape),
    query: AgentSnapshotQuery,
    response: AgentSnapshotResult,
  }),
  restoreVm: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/restore',
    summary: 'Start a VM from a snapshot on this host.',
    params: AgentVmParams,
    body: AgentRestoreBody,
    response: AgentVmStatus,
  }),
  deleteSnapshot: def({
    method: 'DELETE',
    path: '/agent/v1/snapshots/:snapshotId',
    summary: "Remove a snapshot's files from this host.",
    params: AgentSnapshotParams,
    response: Ok,
  }),
  setPorts: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/ports',
    summary: 'Published ports only, the rest of the policy kept (managers from before net-policy).',
    params: AgentVmParams,
    body: AgentNetPolicy.pick({ ports: true }),
    response: AgentVmStatus,
  }),
  setNetPolicy: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/net-policy',
    summary: 'Replace published ports, egress policy and rate limit (applied at once while running).',
    params: AgentVmParams,
    body: AgentNetPolicy,
    response: AgentVmStatus,
  }),
  setDnsNames: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/dns-names',
    summary:
      "Replace the names its networks' DNS forwarders publish for a VM (published at once while it runs).",
    params: AgentVmParams,
    body: AgentDnsNamesBody,
    response: AgentVmStatus,
  }),
  ensureNetwork: def({
    method: 'POST',
    path: '/agent/v1/networks/ensure',
    summary: 'Re-apply a network this host carries (new VXLAN peers); ignored when unused here.',
    body: AgentTeardownNetworkBody,
    response: Ok,
  }),
  teardownNetwork: def({
    method: 'POST',
    path: '/agent/v1/networks/teardown',
    summary: 'Remove what this host built for a network.',
    body: AgentTeardownNetworkBody,
    response: Ok,
  }),
  createVolume: def({
    method: 'POST',
    path: '/agent/v1/volumes/:id',
    summary: "Make a volume's file: sparse and empty (formatted if ext4), or copied from an image.",
    params: AgentVolumeParams,
    body: AgentCreateVolumeBody,
    response: z.object({ id: z.string(), path: z.string() }),
  }),
  resizeVolume: def({
    method: 'POST',
    path: '/agent/v1/volumes/:id/resize',
    summary: "Grow a volume's file (and its ext4 filesystem) in place.",
    params: AgentVolumeParams,
    body: AgentResizeVolumeBody,
    response: z.object({ id: z.string(), sizeMib: z.number() }),
  }),
  deleteVolume: def({
    method: 'DELETE',
    path: '/agent/v1/volumes/:id',
    summary: "Remove a volume's file.",
    params: AgentVolumeParams,
    response: Ok,
  }),
  appLogs: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/app/logs',
    summary:
      "The app's persisted stdout/stderr: text lines or NDJSON ContainerLogLine objects, streamed; `follow` keeps it open until the client leaves.",
    params: AgentVmParams,
    query: ContainerLogsQuery,
    response: null,
    raw: { produces: ['text/plain', 'application/x-ndjson'] },
  }),
  appStatus: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/app',
    summary: "The guest app's status, asked of the guest agent.",
    params: AgentVmParams,
    response: AppStatus,
  }),
  appControl: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/app/control',
    summary: 'Stop, start, restart or signal the guest app; answers its status after.',
    params: AgentVmParams,
    body: AppControlBody,
    response: AppStatus,
  }),
  rotateCredentials: def({
    method: 'POST',
    path: '/agent/v1/credentials',
    summary:
      'Switch to a new credential pair (persisted first) and, when given, a new TLS key and certificate (served to new connections at once); the old callback token is accepted until the new one is used.',
    body: AgentCredentials,
    response: Ok,
  }),
  ...agentAccessRoutes,
  ...agentPortRoutes,
  ...agentExportRoutes,
  ...agentMigrateRoutes,
  ...agentMigrateSnapshotRoutes,
  ...agentSnapshotMoveRoutes,
} as const;

export type AgentRoutes = typeof agentRoutes;
export type AgentRouteId = keyof AgentRoutes;
export type AgentInput<K extends AgentRouteId> = RouteInput<AgentRoutes[K]>;
export type AgentOutput<K extends AgentRouteId> = RouteOutput<AgentRoutes[K]>;

/** The path (and query) of an agent route, e.g. for a WebSocket or a streamed request. */
export function agentPath<K extends AgentRouteId>(
  id: K,
  input: Pick<AgentInput<K>, 'params' | 'query'>,
): string {
  return routePath(agentRoutes[id].path, input);
}
