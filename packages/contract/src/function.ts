import { z } from 'zod';
import { Name, Timestamp } from './common.ts';

/** The runtimes a function runs on, each the image of the runtime of that name (runtimes.ts). */
export const FUNCTION_RUNTIMES = ['node22', 'python3.13', 'ruby3'] as const;
export const FunctionRuntime = z.enum(FUNCTION_RUNTIMES);
export type FunctionRuntime = z.infer<typeof FunctionRuntime>;

/** The file each runtime's handler module lives in, by its extension. */
export const FUNCTION_EXT: Record<FunctionRuntime, string> = {
  node22: 'js',
  'python3.13': 'py',
  ruby3: 'rb',
};

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a shell variable name');
/** `module.export`: `index.handler`, `main.handler`, `app.handler` (a module in a folder: `src/app.handler`). */
const Handler = z
  .string()
  .min(3)
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_/-]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'must be module.function (index.handler)');
/** A code file's path inside the function's folder: relative, no `..`, no absolute path. */
const CodePath = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9_./-]+$/, 'must be a relative path without ..');

export const FunctionConfig = z.strictObject({
  env: z.record(EnvName, z.string().max(4096)).default({}),
  secretEnv: z
    .record(EnvName, Name)
    .default({})
    .describe(
      'Variables whose values come from project secrets (variable → secret name), opened when a version is built; the values never show in the function or its versions.',
    ),
  memoryMib: z.number().int().min(128).max(8192).default(128),
  vcpus: z.number().int().min(1).max(8).default(1),
  timeoutS: z.number().int().min(1).max(900).default(30).describe('An invocation running longer is killed.'),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(1)
    .describe('Invocations one instance serves at once.'),
  minInstances: z.number().int().min(0).max(10).default(0),
  maxInstances: z.number().int().min(1).max(50).default(2),
  queue: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(100)
    .describe('Invocations waiting for an instance beyond that: 429 with Retry-After.'),
  idleS: z.number().int().min(1).max(86_400).default(300).describe('Idle time before an instance stops.'),
  public: z
    .boolean()
    .default(false)
    .describe('The HTTP trigger /fn/{project}/{name}/… answers without a token.'),
});
export type FunctionConfig = z.output<typeof FunctionConfig>;

/** Largest archive a deploy takes (its base64 in the JSON body is a third larger). */
export const FUNCTION_ARCHIVE_MAX = 50 * 1024 * 1024;

const FunctionCode = z.strictObject({
  runtime: FunctionRuntime,
  handler: Handler,
  files: z
    .record(CodePath, z.string().max(1024 * 1024))
    .refine((f) => Object.keys(f).length >= 1 && Object.keys(f).length <= 100, '1 to 100 files')
    .optional()
    .describe('The source files by relative path (inline code).'),
  archive: z
    .string()
    .max(Math.ceil((FUNCTION_ARCHIVE_MAX * 4) / 3) + 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
    .optional()
    .describe(
      'The code as a .tar.gz (or .tar), base64: a folder with the handler module, vendored dependencies, and for node22 a package.json (and package-lock.json) whose dependencies are installed at build time. Entries with `..`, absolute paths, links that point out of the folder, or devices are refused.',
    ),
});

/** A version's code as kept: the source files (an archive's, without dependencies or large files). */
export const FunctionSource = z
  .object({ runtime: FunctionRuntime, handler: z.string(), files: z.record(z.string(), z.string()) })
  .meta({ id: 'FunctionSource' });

/** Code comes inline or as an archive: exactly one of the two. */
const oneCodeForm = <T extends { files?: unknown; archive?: unknown }>(c: T) =>
  (c.files === undefined) !== (c.archive === undefined);
const ONE_CODE_FORM = { message: 'give either files (inline code) or archive, not both', path: ['files'] };

export const CreateFunctionBody = FunctionCode.extend({
  name: Name,
  project: z.string().optional(),
  ...FunctionConfig.shape,
})
  .refine(oneCodeForm, ONE_CODE_FORM)
  .meta({ id: 'CreateFunctionRequest' });

/** A new version: new code and, optionally, new settings (omitted: the function's current ones). */
export const DeployFunctionBody = FunctionCode.extend(FunctionConfig.partial().shape)
  .refine(oneCodeForm, ONE_CODE_FORM)
  .meta({ id: 'DeployFunctionRequest' });

export const FunctionVersion = z
  .object({
    version: z.number().int(),
    state: z.enum(['building', 'ready', 'failed']),
    runtime: FunctionRuntime,
    handler: z.string(),
    snapshot: z.string().nullable().describe('The snapshot instances are restored from.'),
    error: z.string().nullable(),
    buildMs: z.number().nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'FunctionVersion' });
export type FunctionVersion = z.infer<typeof FunctionVersion>;

export const FunctionInfo = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    runtime: FunctionRuntime,
    handler: z.string(),
    config: FunctionConfig,
    aliases: z.record(z.string(), z.number().int()).describe('`live` is the version invocations run.'),
    versions: z.number().int(),
    building: z
      .number()
      .int()
      .nullable()
      .describe('The version a create or deploy started, while it builds.'),
    instances: z.number().int().describe('Instances running now.'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Function' });
export type FunctionInfo = z.infer<typeof FunctionInfo>;

export const InvokeQuery = z.strictObject({
  alias: z.string().max(63).optional(),
  version: z.coerce.number().int().min(1).optional(),
  project: z.string().optional(),
});

export const InvokeError = z.object({
  type: z.string().describe('The error class (TypeError, ZeroDivisionError, Timeout).'),
  message: z.string(),
  stack: z.array(z.string()),
});

export const InvokeResult = z
  .object({
    requestId: z.string(),
    status: z.enum(['ok', 'error', 'timeout']),
    result: z.unknown().optional().describe("The handler's return value (status ok)."),
    error: InvokeError.optional(),
    version: z.number().int(),
    durationMs: z.number().describe("The handler's own time, measured in the guest."),
    totalMs: z.number().describe('From the request to the answer, including any cold start.'),
    cold: z.boolean().describe('The instance was restored from the snapshot for this call.'),
    logs: z.string().describe('What the handler printed (tail).'),
  })
  .meta({ id: 'InvokeResult' });
export type InvokeResult = z.infer<typeof InvokeResult>;

export const RollbackBody = z.strictObject({
  version: z.number().int().min(1),
  alias: z.string().max(63).default('live'),
});

/** An asynchronous invocation: accepted at once, its result read later at `resultUrl`. */
export const Invocation = z
  .object({
    requestId: z.string(),
    state: z.enum(['pending', 'done', 'failed']).describe('failed: the platform could not run it.'),
    resultUrl: z.string(),
    result: InvokeResult.optional().describe('Once done.'),
    error: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .describe('Once failed: the platform error that stopped it (not a handler error).'),
    at: Timestamp,
  })
  .meta({ id: 'Invocation' });
export type Invocation = z.infer<typeof Invocation>;
