import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import { IdParam, PageQuery, pageOf } from './common.ts';
import {
  CreateVmBody,
  ListVmsQuery,
  LogsQuery,
  PatchVmBody,
  StopBody,
  Vm,
  VmEvent,
  WaitQuery,
} from './vm.ts';
import { Host } from './host.ts';
import { Image } from './image.ts';
import { hostAgentRoutes } from './host-agent-routes.ts';
import { vmAccessRoutes } from './vm-access-routes.ts';
import { portRoutes } from './port-access.ts';
import { proxyPassRoutes } from './proxy-passes.ts';
import { snapshotRoutes } from './snapshot-routes.ts';
import { volumeRoutes } from './volume-routes.ts';
import { networkRoutes } from './network-routes.ts';
import { templateRoutes } from './template-routes.ts';
import { poolRoutes } from './pool-routes.ts';
import { scheduleRoutes } from './schedule-routes.ts';
import { backupRoutes } from './backup-routes.ts';
import { vmExportRoutes } from './vm-export.ts';
import { containerRoutes } from './container-routes.ts';
import { ContainerLogsQuery } from './container.ts';
import { functionRoutes } from './function-routes.ts';
import { eventRoutes } from './events-routes.ts';
import { placementRoutes } from './placement-routes.ts';
import { imageRoutes } from './image-routes.ts';
import { authRoutes, joinRoutes, projectRoutes, userRoutes } from './identity-routes.ts';
import { webhookRoutes } from './webhook.ts';
import { metricsRoutes } from './metrics.ts';
import { hostOpsRoutes } from './host-ops-routes.ts';
import { migrationRoutes } from './migration-routes.ts';

/** `user-or-agent`: a user token, or an agent's token (agents fetch image content with it). */
export type Auth = 'user' | 'agent' | 'user-or-agent' | 'join' | 'none';

export interface RouteDef {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** null: the response is plain text (or, with `raw`, the raw content type) */
  response: z.ZodType | null;
  /** Routes outside plain JSON: streamed bodies, or a WebSocket upgrade. */
  raw?: { produces?: string[]; consumes?: string[]; websocket?: boolean };
  status: number;
  errors: ErrorCode[];
  /** The path parameter that names the project the request acts in (project routes). */
  projectParam?: string;
  /** A JSON body larger than the API's default limit (1 MiB) that this route takes, in bytes. */
  bodyLimit?: number;
  /** The body's `project` field means something else (a token's scope), not where the request acts. */
  bodyProjectIsData?: true;
}

const def = <const T extends RouteDef>(r: T): T => r;
const VM_ERR: ErrorCode[] = ['VM_NOT_FOUND'];
const actionRoute = (action: string, summary: string) =>
  def({
    method: 'POST',
    path: `/v1/vms/:id/${action}`,
    summary,
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    response: Vm,
    status: 202,
    errors: [...VM_ERR, 'VM_INVALID_STATE', 'VM_BUSY'],
  });

/** Every public route. The manager serves them, the SDK calls them, openapi.json describes them. */
export const routes = {
  createVm: def({
    method: 'POST',
    path: '/v1/vms',
    summary: 'Create a VM (and start it unless `start` is false). Accepts an Idempotency-Key header.',
    tag: 'vms',
    auth: 'user',
    body: CreateVmBody,
    response: Vm,
    status: 201,
    errors: [
      'VALIDATION_FAILED',
      'VM_NAME_TAKEN',
      'IMAGE_NOT_FOUND',
      'IMAGE_NOT_READY',
      'IMAGE_BUILD_FAILED',
      'VCPUS_EXCEED_HOST',
      'MEMORY_EXCEEDS_HOST',
      'NO_HOST_AVAILABLE',
      'NO_HOST_MATCHES',
      'NETWORK_EXHAUSTED',
      'NETWORK_NOT_FOUND',
      'NETWORK_IP_UNAVAILABLE',
      'NETWORK_FEATURE_MISSING',
      'HOST_NOT_FOUND',
      'PORT_TAKEN',
      'VMM_UNAVAILABLE',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  }),
  listVms: def({
    method: 'GET',
    path: '/v1/vms',
    summary: 'List VMs, newest last, filtered by state, host, project or name prefix.',
    tag: 'vms',
    auth: 'user',
    query: ListVmsQuery,
    response: pageOf(Vm),
    status: 200,
    errors: ['VALIDATION_FAILED'],
  }),
  getVm: def({
    method: 'GET',
    path: '/v1/vms/:id',
    summary: 'Get a VM by id or name.',
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    response: Vm,
    status: 200,
    errors: VM_ERR,
  }),
  patchVm: def({
    method: 'PATCH',
    path: '/v1/vms/:id',
    summary:
      'Rename a VM, change labels or timeout, resize it while stopped, or change its published ports, egress policy and bandwidth (applied at once while it runs).',
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    body: PatchVmBody,
    response: Vm,
    status: 200,
    errors: [
      ...VM_ERR,
      'VALIDATION_FAILED',
      'VM_NAME_TAKEN',
      'VM_RESIZE_REQUIRES_STOP',
      'VCPUS_EXCEED_HOST',
      'PORT_TAKEN',
    ],
  }),
  deleteVm: def({
    method: 'DELETE',
    path: '/v1/vms/:id',
    summary: 'Delete a VM: its VMM process, run directory, disk and records.',
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    response: Vm,
    status: 202,
    errors: [...VM_ERR, 'VM_INVALID_STATE'],
  }),
  startVm: actionRoute('start', 'Start a created, stopped or failed VM.'),
  stopVm: def({
    ...actionRoute('stop', 'Stop a VM: guest shutdown, then kill after the timeout.'),
    body: StopBody,
  }),
  pauseVm: actionRoute('pause', 'Pause a running VM (vCPUs stop; memory kept).'),
  resumeVm: actionRoute('resume', 'Resume a paused VM.'),
  restartVm: actionRoute('restart', 'Restart a running VM (graceful stop, then start).'),
  waitVm: def({
    method: 'GET',
    path: '/v1/vms/:id/wait',
    summary: 'Wait until the VM reaches a state (long poll). 409 VM_FAILED if it fails instead.',
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    query: WaitQuery,
    response: Vm,
    status: 200,
    errors: [...VM_ERR, 'VM_FAILED', 'WAIT_TIMEOUT'],
  }),
  vmEvents: def({
    method: 'GET',
    path: '/v1/vms/:id/events',
    summary: "A VM's events, oldest first: every state transition with who, when and why.",
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    query: PageQuery,
    response: pageOf(VmEvent),
    status: 200,
    errors: VM_ERR,
  }),
  vmLogs: def({
    method: 'GET',
    path: '/v1/vms/:id/logs',
    summary: "The tail of the VM's serial console log (text/plain).",
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    query: LogsQuery,
    response: null,
    status: 200,
    errors: [...VM_ERR, 'AGENT_UNREACHABLE'],
  }),
  vmAppLogs: def({
    method: 'GET',
    path: '/v1/vms/:id/app/logs',
    summary:
      "The stdout and stderr of the VM's app (an OCI image's command run by the guest agent), persisted on its host and rotated: text lines (optionally timestamped) or NDJSON ContainerLogLine objects, streamed; `follow` keeps the response open for new lines until the client leaves.",
    tag: 'vms',
    auth: 'user',
    params: IdParam,
    query: ContainerLogsQuery,
    response: null,
    raw: { produces: ['text/plain', 'application/x-ndjson'] },
    status: 200,
    errors: [...VM_ERR, 'VM_NO_APP', 'VM_NOT_RUNNING', 'AGENT_UNREACHABLE'],
  }),
  listHosts: def({
    method: 'GET',
    path: '/v1/hosts',
    summary: 'List hosts with inventory, VMM availability and allocation.',
    tag: 'hosts',
    auth: 'user',
    query: PageQuery,
    response: pageOf(Host),
    status: 200,
    errors: [],
  }),
  getHost: def({
    method: 'GET',
    path: '/v1/hosts/:id',
    summary: 'Get a host by id or name.',
    tag: 'hosts',
    auth: 'user',
    params: IdParam,
    response: Host,
    status: 200,
    errors: ['HOST_NOT_FOUND'],
  }),
  ...hostAgentRoutes,
  listImages: def({
    method: 'GET',
    path: '/v1/images',
    summary: 'List images (kernels, rootfs, initrds).',
    tag: 'images',
    auth: 'user',
    query: PageQuery,
    response: pageOf(Image),
    status: 200,
    errors: [],
  }),
  getImage: def({
    method: 'GET',
    path: '/v1/images/:id',
    summary: 'Get an image by id or name.',
    tag: 'images',
    auth: 'user',
    params: IdParam,
    response: Image,
    status: 200,
    errors: ['IMAGE_NOT_FOUND'],
  }),
  ...vmAccessRoutes,
  ...portRoutes,
  ...proxyPassRoutes,
  ...snapshotRoutes,
  ...scheduleRoutes,
  ...backupRoutes,
  ...vmExportRoutes,
  ...volumeRoutes,
  ...networkRoutes,
  ...templateRoutes,
  ...eventRoutes,
  ...imageRoutes,
  ...authRoutes,
  ...userRoutes,
  ...projectRoutes,
  ...joinRoutes,
  ...hostOpsRoutes,
  ...poolRoutes,
  ...containerRoutes,
  ...webhookRoutes,
  ...functionRoutes,
  ...migrationRoutes,
  ...metricsRoutes,
  ...placementRoutes,
} as const;

export type Routes = typeof routes;
export type RouteId = keyof Routes;
