import { z } from 'zod';
import type { AgentRouteDef } from './agent-routes.ts';
import {
  AttachQuery,
  ExecBody,
  ExecResult,
  FileList,
  FilesQuery,
  FileStatResponse,
  GuestPath,
  ListQuery,
  MkdirBody,
  MoveBody,
  ProcessList,
  RemoveQuery,
  ShellQuery,
  SignalBody,
  StatQuery,
  StdinBody,
  UploadQuery,
  UploadResult,
  VmGuestInfo,
  VmMetrics,
} from './vm-access.ts';

const def = <const T extends AgentRouteDef>(r: T): T => r;

/** A VM on the agent's host, by the id the manager gave it. */
export const AgentVmParams = z.object({ id: z.string().min(1) });
const ProcessParams = AgentVmParams.extend({ processId: z.string().min(1) });
const Done = z.object({ path: z.string() });
export const AgentPersonalizeBody = z.strictObject({
  hostname: z.string().min(1),
  env: z.record(z.string(), z.string()),
  users: z.array(
    z.object({ name: z.string(), passwordHash: z.string().nullable(), sshKeys: z.array(z.string()) }),
  ),
});
const AgentPersonalizeResult = z.object({
  adjustedMs: z.number().describe('How far the guest clock was moved'),
  machineId: z.boolean().describe('Whether a new /etc/machine-id was written'),
});
const Ok = z.object({ ok: z.boolean() });
export const WatchQuery = z.object({
  path: GuestPath,
  recursive: z.enum(['true', 'false']).default('false'),
});
/** One line of a directory watch: set up (or not served by the guest), a change, or its end. */
export const AgentWatchLine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('watching') }),
  z.object({ type: z.literal('unsupported') }),
  z.object({
    type: z.literal('change'),
    name: z.string(),
    op: z.enum(['create', 'write', 'remove', 'rename', 'chmod']),
  }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type AgentWatchLine = z.infer<typeof AgentWatchLine>;
/** The manager's upload, plus the file's user metadata for the E2B API's writes. */
export const AgentUploadQuery = UploadQuery.extend({
  meta: z
    .string()
    .optional()
    .describe("JSON object: the file's whole user metadata (guests with the fs.meta capability)."),
});

/** A VM's guest through the agent: exec, files, metrics, processes, console and shell. */
export const agentAccessRoutes = {
  exec: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/exec',
    summary: 'Run a command in the guest: one JSON result, or NDJSON ExecEvent lines with `stream`.',
    params: AgentVmParams,
    body: ExecBody,
    response: ExecResult,
    raw: { produces: ['application/json', 'application/x-ndjson'] },
  }),
  downloadFile: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/files',
    summary: 'A guest file (octet-stream) or directory (tar); x-hearth-file-kind says which.',
    params: AgentVmParams,
    query: FilesQuery,
    response: null,
    raw: { produces: ['application/octet-stream', 'application/x-tar'] },
  }),
  uploadFile: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/files',
    summary: 'Write a guest file from the raw body, or unpack a tar archive into a directory.',
    params: AgentVmParams,
    query: AgentUploadQuery,
    response: UploadResult,
    raw: { consumes: ['application/octet-stream', 'application/x-tar'] },
  }),
  watchFiles: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/files/watch',
    summary:
      "A guest directory's changes by inotify, as NDJSON AgentWatchLine lines (`unsupported` from an older guest agent).",
    params: AgentVmParams,
    query: WatchQuery,
    response: null,
    raw: { produces: ['application/x-ndjson'] },
  }),
  statFile: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/files/stat',
    summary: 'Type, size, mode and mtime of a guest path.',
    params: AgentVmParams,
    query: StatQuery,
    response: FileStatResponse,
  }),
  listFiles: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/files/list',
    summary: 'A guest directory, recursively up to `depth`.',
    params: AgentVmParams,
    query: ListQuery,
    response: FileList,
  }),
  makeDir: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/files/mkdir',
    summary: 'Create a guest directory.',
    params: AgentVmParams,
    body: MkdirBody,
    response: Done,
  }),
  moveFile: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/files/move',
    summary: 'Move or rename a guest path.',
    params: AgentVmParams,
    body: MoveBody,
    response: Done,
  }),
  removeFile: def({
    method: 'DELETE',
    path: '/agent/v1/vms/:id/files',
    summary: 'Remove a guest file or directory.',
    params: AgentVmParams,
    query: RemoveQuery,
    response: Done,
  }),
  metrics: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/metrics',
    summary: 'Guest metrics now.',
    params: AgentVmParams,
    response: VmMetrics,
  }),
  guestInfo: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/guest',
    summary: "The guest agent's view: hostname, addresses, versions, clock.",
    params: AgentVmParams,
    response: VmGuestInfo,
  }),
  personalize: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/personalize',
    summary: 'Give a pooled VM its name, env and users, the host clock and fresh entropy.',
    params: AgentVmParams,
    body: AgentPersonalizeBody,
    response: AgentPersonalizeResult,
  }),
  listProcesses: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/processes',
    summary: 'Processes started through the guest agent.',
    params: AgentVmParams,
    response: ProcessList,
  }),
  signalProcess: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/processes/:processId/signal',
    summary: "Signal a tracked process's group.",
    params: ProcessParams,
    body: SignalBody,
    response: Ok,
  }),
  processStdin: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/processes/:processId/stdin',
    summary: "Write to a tracked process's stdin, and optionally close it.",
    params: ProcessParams,
    body: StdinBody,
    response: Ok,
  }),
  processOutput: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/processes/:processId/output',
    summary: "A tracked process's (replayed and) live output as NDJSON ExecEvent lines.",
    params: ProcessParams,
    query: AttachQuery,
    response: null,
    raw: { produces: ['application/x-ndjson'] },
  }),
  console: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/console',
    summary: 'WebSocket: the serial console (binary both ways), shared by its viewers.',
    params: AgentVmParams,
    response: null,
    raw: { websocket: true },
  }),
  shell: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/shell',
    summary: 'WebSocket: a PTY shell through the guest agent.',
    params: AgentVmParams,
    query: ShellQuery,
    response: null,
    raw: { websocket: true },
  }),
} as const;
