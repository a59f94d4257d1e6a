import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { pageOf } from './common.ts';
import {
  CreateFunctionBody,
  DeployFunctionBody,
  FUNCTION_ARCHIVE_MAX,
  FunctionSource,
  FunctionInfo,
  FunctionVersion,
  Invocation,
  InvokeQuery,
  InvokeResult,
  RollbackBody,
} from './function.ts';
import { FunctionLog, FunctionLogsQuery, FunctionMetrics, FunctionMetricsQuery } from './function-observe.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const NameParams = z.strictObject({ name: z.string().min(1).max(63) });
const base = { tag: 'functions', auth: 'user', params: NameParams } as const;
const F_ERR: ErrorCode[] = ['FUNCTION_NOT_FOUND'];
/** What an invocation (API or HTTP trigger) may answer besides the function lookups. */
const INVOKE_ERR: ErrorCode[] = [
  ...F_ERR,
  'FUNCTION_NOT_READY',
  'FUNCTION_THROTTLED',
  'FUNCTION_INSTANCE_FAILED',
  'FUNCTION_OUT_OF_MEMORY',
];
/** A deploy's JSON body: the largest archive in base64, and room for the settings. */
const CODE_BODY_LIMIT = Math.ceil((FUNCTION_ARCHIVE_MAX * 4) / 3) + 1024 * 1024;
const ProjectQuery = z.strictObject({ project: z.string().optional() });

/** Serverless functions: versions built into snapshots, instances restored from them on demand. */
export const functionRoutes = {
  createFunction: def({
    ...base,
    params: undefined,
    method: 'POST',
    path: '/v1/functions',
    summary:
      'Create a function and start building its first version (`building`): the handler is loaded in a VM of its runtime, then the VM is snapshotted. Wait for it with GET …/versions/{version}?wait=S.',
    body: CreateFunctionBody,
    bodyLimit: CODE_BODY_LIMIT,
    response: FunctionInfo,
    status: 201,
    errors: ['VALIDATION_FAILED', 'FUNCTION_NAME_TAKEN', 'FUNCTION_ARCHIVE_INVALID', 'PAYLOAD_TOO_LARGE'],
  }),
  listFunctions: def({
    ...base,
    params: undefined,
    method: 'GET',
    path: '/v1/functions',
    summary: "The project's functions.",
    query: ProjectQuery,
    response: pageOf(FunctionInfo),
    status: 200,
    errors: [],
  }),
  getFunction: def({
    ...base,
    method: 'GET',
    path: '/v1/functions/:name',
    summary: 'One function.',
    query: ProjectQuery,
    response: FunctionInfo,
    status: 200,
    errors: F_ERR,
  }),
  deleteFunction: def({
    ...base,
    method: 'DELETE',
    path: '/v1/functions/:name',
    summary: 'Remove a function, its instances, versions and snapshots.',
    query: ProjectQuery,
    response: FunctionInfo,
    status: 200,
    errors: F_ERR,
  }),
  deployFunction: def({
    ...base,
    method: 'PUT',
    path: '/v1/functions/:name/code',
    summary:
      'Deploy new code: a new immutable version starts building (`building` names it); `live` moves to it once it loaded. A version that fails to load (`failed`, with the runtime message and line in `error`) leaves `live` where it was.',
    body: DeployFunctionBody,
    bodyLimit: CODE_BODY_LIMIT,
    response: FunctionInfo,
    status: 202,
    errors: [...F_ERR, 'VALIDATION_FAILED', 'FUNCTION_ARCHIVE_INVALID', 'PAYLOAD_TOO_LARGE'],
  }),
  listFunctionVersions: def({
    ...base,
    method: 'GET',
    path: '/v1/functions/:name/versions',
    summary: "The function's versions, newest first.",
    query: ProjectQuery,
    response: z.object({ items: z.array(FunctionVersion) }),
    status: 200,
    errors: F_ERR,
  }),
  getFunctionVersion: def({
    ...base,
    params: z.strictObject({ name: z.string().min(1).max(63), version: z.coerce.number().int().min(1) }),
    method: 'GET',
    path: '/v1/functions/:name/versions/:version',
    summary:
      'One version; with `wait` (seconds, at most 60) the answer waits while it is `building` (a long poll).',
    query: z.strictObject({
      project: z.string().optional(),
      wait: z.coerce.number().int().min(0).max(60).default(0),
    }),
    response: FunctionVersion,
    status: 200,
    errors: [...F_ERR, 'FUNCTION_VERSION_NOT_FOUND'],
  }),
  getFunctionCode: def({
    ...base,
    params: z.strictObject({ name: z.string().min(1).max(63), version: z.coerce.number().int().min(1) }),
    method: 'GET',
    path: '/v1/functions/:name/versions/:version/code',
    summary:
      "A version's source files, runtime and handler, as deployed (the dashboard's editor opens them).",
    query: ProjectQuery,
    response: FunctionSource,
    status: 200,
    errors: [...F_ERR, 'FUNCTION_VERSION_NOT_FOUND'],
  }),
  rollbackFunction: def({
    ...base,
    method: 'POST',
    path: '/v1/functions/:name/rollback',
    summary: 'Point an alias (default `live`) at an earlier ready version.',
    body: RollbackBody,
    response: FunctionInfo,
    status: 200,
    errors: [...F_ERR, 'FUNCTION_VERSION_NOT_FOUND'],
  }),
  invokeFunction: def({
    ...base,
    method: 'POST',
    path: '/v1/functions/:name/invoke',
    summary:
      "Run the handler with the JSON body as its event and answer with its result (or its error with the stack), duration, cold or warm, request id and log tail. A handler's error is status `error` in a 200 answer; 429 when every instance is busy and the queue is full.",
    query: InvokeQuery,
    body: z.unknown(),
    // The event is the caller's data: a `project` field in it names no project.
    bodyProjectIsData: true,
    response: InvokeResult,
    status: 200,
    errors: INVOKE_ERR,
  }),
  invokeFunctionAsync: def({
    ...base,
    method: 'POST',
    path: '/v1/functions/:name/invocations',
    summary:
      'Invoke asynchronously: answers 202 at once with the request id and `resultUrl`; the invocation runs (queued like any other) and its result is kept with its log.',
    query: InvokeQuery,
    body: z.unknown(),
    bodyProjectIsData: true,
    response: Invocation,
    status: 202,
    errors: [...F_ERR, 'FUNCTION_NOT_READY', 'FUNCTION_THROTTLED'],
  }),
  getInvocation: def({
    ...base,
    params: z.strictObject({ name: z.string().min(1).max(63), requestId: z.string().min(1).max(64) }),
    method: 'GET',
    path: '/v1/functions/:name/invocations/:requestId',
    summary:
      'An asynchronous invocation: `pending` while it runs; `done` with the result (as the synchronous invoke answers it); `failed` with the platform error. `wait` (seconds, at most 60) long-polls while pending.',
    query: z.strictObject({
      project: z.string().optional(),
      wait: z.coerce.number().int().min(0).max(60).default(0),
    }),
    response: Invocation,
    status: 200,
    errors: [...F_ERR, 'FUNCTION_INVOCATION_NOT_FOUND'],
  }),
  functionMetrics: def({
    ...base,
    method: 'GET',
    path: '/v1/functions/:name/metrics',
    summary:
      'Invocations, errors, timeouts, throttles, cold starts and duration p50/p95/p99 over the range and per bucket of it (from the invocation log, kept across restarts), and what runs now.',
    query: FunctionMetricsQuery,
    response: FunctionMetrics,
    status: 200,
    errors: F_ERR,
  }),
  functionLogs: def({
    ...base,
    method: 'GET',
    path: '/v1/functions/:name/logs',
    summary:
      'Per-invocation logs (what the handler printed), newest first, tagged with the request id; `q` searches their text. `follow` answers with NDJSON FunctionLog lines (the last ones, then each invocation as it ends) until the client leaves.',
    query: FunctionLogsQuery,
    response: z.object({ items: z.array(FunctionLog) }),
    raw: { produces: ['application/json', 'application/x-ndjson'] },
    status: 200,
    errors: F_ERR,
  }),
  functionTrigger: def({
    ...base,
    params: undefined,
    method: 'GET',
    path: '/fn/:project/:name/*',
    projectParam: 'project',
    summary:
      "HTTP trigger (any method): method, path, query, headers and body become the event (API Gateway's HTTP API v2 shape); the handler's `{statusCode, headers, body}` is the answer. Without a token only for a function created with `public: true`.",
    response: null,
    raw: { produces: ['*/*'] },
    status: 200,
    errors: INVOKE_ERR,
  }),
} as const;
