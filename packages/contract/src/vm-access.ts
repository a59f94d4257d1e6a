import { z } from 'zod';
import { FileStat, GuestInfo, GuestMetrics, GuestProcess } from './guest-protocol.ts';

const MAX_EXEC_TIMEOUT_MS = 24 * 3600 * 1000;
export const GuestPath = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^\//, 'an absolute path inside the guest')
  .refine((p) => !p.split('/').includes('..'), 'no `..` segments');

export const ExecBody = z
  .strictObject({
    command: z
      .union([z.string().min(1), z.array(z.string()).min(1)])
      .describe('A string runs with /bin/sh -c; an array is the argv, run directly.'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
    cwd: GuestPath.optional(),
    user: z.string().min(1).max(32).optional().describe('Default root.'),
    stdin: z
      .string()
      .optional()
      .describe('Bytes for the process stdin (see stdinEncoding); omitted: /dev/null.'),
    stdinEncoding: z.enum(['utf8', 'base64']).default('utf8'),
    keepStdinOpen: z
      .boolean()
      .default(false)
      .describe('Leave stdin open after `stdin` for POST /v1/vms/{id}/processes/{processId}/stdin.'),
    timeoutMs: z
      .number()
      .int()
      .positive()
      .max(MAX_EXEC_TIMEOUT_MS)
      .optional()
      .describe('Kill the process after this long.'),
    stream: z
      .boolean()
      .default(false)
      .describe(
        'true: answer with NDJSON events as output arrives (data base64); false: one JSON result at the end.',
      ),
    encoding: z
      .enum(['utf8', 'base64'])
      .default('utf8')
      .describe('How stdout/stderr appear in the JSON result.'),
    tag: z.string().max(64).optional().describe('A label shown in the process list.'),
  })
  .meta({ id: 'ExecRequest' });
export type ExecBody = z.input<typeof ExecBody>;

export const ExecResult = z
  .object({
    processId: z.string(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    timedOut: z.boolean(),
    durationMs: z.number(),
    stdout: z.string(),
    stderr: z.string(),
    encoding: z.enum(['utf8', 'base64']),
  })
  .meta({ id: 'ExecResult' });
export type ExecResult = z.infer<typeof ExecResult>;

/** One line of a streamed exec (application/x-ndjson). */
export const ExecEvent = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('started'), processId: z.string(), pid: z.number().int() }),
    z.object({ type: z.literal('stdout'), data: z.string().describe('base64') }),
    z.object({ type: z.literal('stderr'), data: z.string().describe('base64') }),
    z.object({
      type: z.literal('exit'),
      exitCode: z.number().int().nullable(),
      signal: z.string().nullable(),
      timedOut: z.boolean(),
      durationMs: z.number(),
    }),
    z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  ])
  .meta({ id: 'ExecEvent' });
export type ExecEvent = z.infer<typeof ExecEvent>;

export const FilesQuery = z.object({
  path: GuestPath,
  format: z.enum(['auto', 'raw', 'tar']).default('auto').describe('auto: a file as is, a directory as tar.'),
});
export const UploadQuery = z.object({
  path: GuestPath.describe('The file to write, or with format=tar the directory to unpack into.'),
  format: z.enum(['raw', 'tar']).default('raw'),
  mode: z
    .string()
    .regex(/^[0-7]{3,4}$/)
    .optional()
    .describe('Octal file mode, default 0644.'),
  parents: z.enum(['true', 'false']).default('true').describe('Create missing parent directories.'),
});
export const UploadResult = z.object({ path: z.string(), bytes: z.number() }).meta({ id: 'UploadResult' });
export const StatQuery = z.object({ path: GuestPath });
export const ListQuery = z.object({
  path: GuestPath,
  depth: z.coerce.number().int().min(1).max(32).default(1),
});
export const RemoveQuery = z.object({
  path: GuestPath,
  recursive: z.enum(['true', 'false']).default('false'),
});
export const MkdirBody = z.strictObject({ path: GuestPath, parents: z.boolean().default(true) });
export const MoveBody = z.strictObject({ from: GuestPath, to: GuestPath });
export const FileList = z.object({ entries: z.array(FileStat) }).meta({ id: 'FileList' });
export const FileStatResponse = FileStat.meta({ id: 'FileStat' });

export const VmMetrics = GuestMetrics.extend({ at: z.string() }).meta({ id: 'VmMetrics' });
export type VmMetrics = z.infer<typeof VmMetrics>;
export const VmGuestInfo = GuestInfo.meta({ id: 'GuestInfo' });

export const ProcessList = z.object({ items: z.array(GuestProcess) }).meta({ id: 'ProcessList' });
/** Process ids are short guest-made tokens; the agent's router matches path segments of at most 100. */
export const ProcessParams = z.object({
  id: z.string().min(1).max(128),
  processId: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w-]+$/, 'letters, digits, `_` and `-` (a process id from exec)'),
});
export const SignalBody = z.strictObject({
  signal: z.enum(['TERM', 'KILL', 'INT', 'HUP', 'QUIT', 'USR1', 'USR2', 'STOP', 'CONT']),
});
export const StdinBody = z.strictObject({
  data: z.string().default(''),
  encoding: z.enum(['utf8', 'base64']).default('utf8'),
  close: z.boolean().default(false).describe('Close stdin after writing.'),
});
export const AttachQuery = z.object({ replay: z.enum(['true', 'false']).default('true') });

export const ShellQuery = z.object({
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
  user: z.string().min(1).max(32).optional(),
  command: z.string().optional().describe('Run this instead of the login shell.'),
});

/**
 * Text messages on the shell WebSocket (binary messages are terminal bytes both ways).
 * Client → server: resize. Server → client: exit (then the socket closes).
 */
export const ShellClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().min(1).max(1000),
    rows: z.number().int().min(1).max(1000),
  }),
]);
export const ShellServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('exit'), exitCode: z.number().int().nullable(), signal: z.string().nullable() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
