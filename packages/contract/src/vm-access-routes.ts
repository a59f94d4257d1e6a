import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';
import {
  AttachQuery,
  ExecBody,
  ExecResult,
  FileList,
  FilesQuery,
  FileStatResponse,
  ListQuery,
  MkdirBody,
  MoveBody,
  ProcessList,
  ProcessParams,
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

const def = <const T extends RouteDef>(r: T): T => r;
const GUEST_ERR: ErrorCode[] = [
  'VM_NOT_FOUND',
  'VM_NOT_RUNNING',
  'GUEST_AGENT_UNAVAILABLE',
  'GUEST_AGENT_TIMEOUT',
  'AGENT_UNREACHABLE',
];
const PATH_ERR: ErrorCode[] = [
  ...GUEST_ERR,
  'GUEST_PATH_NOT_FOUND',
  'GUEST_PATH_INVALID',
  'GUEST_PATH_WRONG_TYPE',
  'GUEST_PERMISSION_DENIED',
];
const Done = z.object({ path: z.string() });
const Ok = z.object({ ok: z.boolean() });
const base = { tag: 'vm access', auth: 'user', params: IdParam, status: 200 } as const;

/** Getting into a VM: exec, files, metrics, processes, console and shell (all via its host's agent). */
export const vmAccessRoutes = {
  execVm: def({
    ...base,
    method: 'POST',
    path: '/v1/vms/:id/exec',
    summary:
      'Run a command in the guest. `stream: false` (default): one JSON result. `stream: true`: NDJSON ExecEvent lines (application/x-ndjson) as output arrives; closing the connection kills the process.',
    body: ExecBody,
    response: ExecResult,
    raw: { produces: ['application/json', 'application/x-ndjson'] },
    errors: [...GUEST_ERR, 'EXEC_FAILED', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE'],
  }),
  downloadFile: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/files',
    summary:
      'Download a file (application/octet-stream) or a directory as a tar archive (application/x-tar; header x-hearth-file-kind says which).',
    query: FilesQuery,
    response: null,
    raw: { produces: ['application/octet-stream', 'application/x-tar'] },
    errors: PATH_ERR,
  }),
  uploadFile: def({
    ...base,
    method: 'PUT',
    path: '/v1/vms/:id/files',
    summary:
      'Upload a file (raw body, application/octet-stream), or with format=tar unpack a tar archive (application/x-tar) into a directory. Written atomically.',
    query: UploadQuery,
    response: UploadResult,
    raw: { consumes: ['application/octet-stream', 'application/x-tar'] },
    errors: [...PATH_ERR, 'PAYLOAD_TOO_LARGE', 'GUEST_PATH_EXISTS'],
  }),
  statFile: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/files/stat',
    summary: 'Type, size, mode and mtime of a guest path (symlinks are not followed).',
    query: StatQuery,
    response: FileStatResponse,
    errors: PATH_ERR,
  }),
  listFiles: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/files/list',
    summary: 'List a guest directory, recursively up to `depth`.',
    query: ListQuery,
    response: FileList,
    errors: PATH_ERR,
  }),
  makeDir: def({
    ...base,
    method: 'POST',
    path: '/v1/vms/:id/files/mkdir',
    summary: 'Create a directory in the guest.',
    body: MkdirBody,
    response: Done,
    errors: [...PATH_ERR, 'GUEST_PATH_EXISTS'],
  }),
  moveFile: def({
    ...base,
    method: 'POST',
    path: '/v1/vms/:id/files/move',
    summary: 'Move or rename a guest path.',
    body: MoveBody,
    response: Done,
    errors: [...PATH_ERR, 'GUEST_PATH_EXISTS'],
  }),
  removeFile: def({
    ...base,
    method: 'DELETE',
    path: '/v1/vms/:id/files',
    summary: 'Remove a guest file, or a directory (non-empty ones need recursive=true).',
    query: RemoveQuery,
    response: Done,
    errors: PATH_ERR,
  }),
  vmMetrics: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/metrics',
    summary: 'Guest metrics now: CPU %, memory, load, processes, uptime, disk and network counters.',
    response: VmMetrics,
    errors: GUEST_ERR,
  }),
  vmMetricsStream: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/metrics/stream',
    summary: 'WebSocket: a VmMetrics JSON message every `interval` seconds (default 2).',
    query: z.object({ interval: z.coerce.number().min(0.5).max(60).default(2) }),
    response: VmMetrics,
    raw: { websocket: true },
    errors: GUEST_ERR,
  }),
  vmGuestInfo: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/guest',
    summary: "The guest agent's view: hostname, addresses, agent version, kernel, clock.",
    response: VmGuestInfo,
    errors: GUEST_ERR,
  }),
  listProcesses: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/processes',
    summary: 'Processes started through the guest agent (running, and finished within 10 minutes).',
    response: ProcessList,
    errors: GUEST_ERR,
  }),
  signalProcess: def({
    ...base,
    method: 'POST',
    path: '/v1/vms/:id/processes/:processId/signal',
    summary: 'Send a signal to a tracked process (its whole process group).',
    params: ProcessParams,
    body: SignalBody,
    response: Ok,
    errors: [...GUEST_ERR, 'PROCESS_NOT_FOUND'],
  }),
  processStdin: def({
    ...base,
    method: 'POST',
    path: '/v1/vms/:id/processes/:processId/stdin',
    summary: 'Write to a tracked process stdin, and optionally close it.',
    params: ProcessParams,
    body: StdinBody,
    response: Ok,
    errors: [...GUEST_ERR, 'PROCESS_NOT_FOUND'],
  }),
  processOutput: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/processes/:processId/output',
    summary:
      'Re-attach to a tracked process: its buffered output (replay=true) then live output as NDJSON ExecEvent lines, ending with its exit. Leaving detaches.',
    params: ProcessParams,
    query: AttachQuery,
    response: null,
    raw: { produces: ['application/x-ndjson'] },
    errors: [...GUEST_ERR, 'PROCESS_NOT_FOUND'],
  }),
  vmConsole: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/console',
    summary:
      'WebSocket: the serial console. On connect the last 64 KiB are replayed; binary messages are console bytes both ways. Several viewers may share it. Browsers may pass the token as `?token=`.',
    response: null,
    raw: { websocket: true },
    errors: ['VM_NOT_FOUND', 'AGENT_UNREACHABLE'],
  }),
  vmShell: def({
    ...base,
    method: 'GET',
    path: '/v1/vms/:id/shell',
    summary:
      'WebSocket: an interactive PTY shell through the guest agent. Binary messages are terminal bytes; text messages are JSON: client {"type":"resize","cols","rows"}; server {"type":"exit","exitCode","signal"} or {"type":"error","code","message"}.',
    query: ShellQuery,
    response: null,
    raw: { websocket: true },
    errors: GUEST_ERR,
  }),
} as const;
