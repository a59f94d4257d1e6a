import { z } from 'zod';
import { Duration, MAX_VCPUS, MIN_MEMORY_MIB } from './vm.ts';
import { Name, PageQuery, Timestamp } from './common.ts';
import { EgressPolicy } from './network.ts';
import { HealthStatus } from './app-status.ts';

/**
 * Containers: an OCI image's process run as the only workload of its own microVM, with the
 * lifecycle, logs, restart policy and health checks a Docker user expects. The VM is linked
 * (`vm`) but managed by the container.
 */

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** `no`, `always`, `unless-stopped`, `on-failure` or `on-failure:MAX` (Docker's spelling). */
export const RestartPolicy = z
  .string()
  .regex(
    /^(no|always|unless-stopped|on-failure(:\d{1,4})?)$/,
    'one of no, always, unless-stopped, on-failure, on-failure:MAX',
  )
  .describe(
    '`no`; `on-failure[:MAX]` restarts after a non-zero exit (at most MAX times); `always`; `unless-stopped` (like always, but not after a user stop)',
  );
export type RestartPolicy = z.infer<typeof RestartPolicy>;

/** Splits `on-failure:3` into the policy and its retry cap (null: unlimited). */
export function parseRestartPolicy(p: string): {
  policy: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  maxRetries: number | null;
} {
  const [policy, max] = p.split(':') as ['no' | 'always' | 'unless-stopped' | 'on-failure', string?];
  return { policy, maxRetries: max === undefined ? null : Number(max) };
}

/** Exactly one of `cmd`, `http` or `tcp`. */
export const HealthCheck = z
  .strictObject({
    cmd: z
      .union([z.string().min(1), z.array(z.string()).min(1)])
      .optional()
      .describe('Run in the container: healthy on exit 0. A string runs with /bin/sh -c.'),
    http: z
      .strictObject({
        port: z.number().int().min(1).max(65535),
        path: z.string().startsWith('/').default('/'),
      })
      .optional()
      .describe('GET http://127.0.0.1:PORT/PATH in the guest: healthy on a 2xx or 3xx status.'),
    tcp: z
      .strictObject({ port: z.number().int().min(1).max(65535) })
      .optional()
      .describe('Connect to 127.0.0.1:PORT in the guest: healthy when it accepts.'),
    interval: Duration.default('30s'),
    timeout: Duration.default('30s'),
    retries: z.number().int().min(1).max(100).default(3).describe('Failures in a row before unhealthy'),
    startPeriod: Duration.default('0s').describe('Failures during this time after a start do not count'),
  })
  .refine(
    (h) => [h.cmd, h.http, h.tcp].filter((x) => x !== undefined).length === 1,
    'give exactly one of cmd, http or tcp',
  )
  .meta({ id: 'HealthCheck' });
export type HealthCheck = z.infer<typeof HealthCheck>;

export const ContainerPort = z
  .strictObject({
    host: z.number().int().min(1).max(65535),
    container: z.number().int().min(1).max(65535),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  })
  .meta({ id: 'ContainerPort' });
export type ContainerPort = z.infer<typeof ContainerPort>;

export const ContainerVolume = z
  .strictObject({
    source: Name.describe('A volume name in the project; created (1 GiB) when it does not exist'),
    target: z
      .string()
      .regex(/^\/./, 'an absolute path inside the container, not /')
      .refine((p) => !p.split('/').includes('..'), 'no `..` segments'),
    readOnly: z.boolean().default(false),
    size: z.string().optional().describe('Size when the volume is created here, like `2gb`; default 1gb'),
  })
  .meta({ id: 'ContainerVolume' });
export type ContainerVolume = z.infer<typeof ContainerVolume>;

export const ContainerLogOptions = z
  .strictObject({
    maxSize: z.string().default('10mb').describe('Rotate the log file at this size'),
    maxFiles: z.number().int().min(1).max(100).default(5).describe('Files kept, the current one included'),
  })
  .meta({ id: 'ContainerLogOptions' });

export const ContainerState = z.enum([
  'creating',
  'pulling',
  'starting',
  'running',
  'restarting',
  'paused',
  'stopping',
  'exited',
  'failed',
  'removing',
]);
export type ContainerState = z.infer<typeof ContainerState>;

export const CreateContainerBody = z
  .strictObject({
    name: Name.optional().describe('Unique per project; generated when omitted.'),
    project: Name.default('default'),
    image: z
      .string()
      .min(1)
      .describe(
        'A registry reference (`nginx:1.25`, `registry:5000/app@sha256:…`) or an imported image id/name',
      ),
    pull: z
      .enum(['missing', 'always', 'never'])
      .default('missing')
      .describe('Pull the reference when no imported image has it (`missing`), every time, or never'),
    entrypoint: z.array(z.string()).optional().describe("Replaces the image's ENTRYPOINT ([] clears it)"),
    command: z.array(z.string()).optional().describe("Replaces the image's CMD"),
    workdir: z.string().startsWith('/').optional(),
    user: z.string().min(1).max(64).optional().describe('`name`, `uid`, `name:group` or `uid:gid`'),
    env: z.record(EnvName, z.string()).optional().describe("Added to the image's ENV (these win)"),
    secretEnv: z
      .record(EnvName, Name)
      .optional()
      .describe('Variables whose values come from project secrets (variable → secret name)'),
    ports: z.array(ContainerPort).max(64).optional().describe('Published: host port → container port'),
    volumes: z.array(ContainerVolume).max(8).optional(),
    vcpus: z.number().int().min(1).max(MAX_VCPUS).default(1),
    memoryMib: z
      .number()
      .int()
      .min(MIN_MEMORY_MIB)
      .max(1024 * 1024)
      .default(256),
    diskSize: z.string().optional().describe('Root disk size like `2gb`; default the image size plus room'),
    network: z.string().min(1).optional().describe('Network id or name; default the NAT network'),
    networkAliases: z
      .array(Name)
      .max(8)
      .optional()
      .describe('Extra DNS names for this container on its network (compose service names)'),
    egress: EgressPolicy.optional(),
    labels: z.record(z.string().max(63), z.string().max(255)).optional(),
    restart: RestartPolicy.default('no'),
    healthcheck: HealthCheck.optional(),
    stopSignal: z
      .string()
      .regex(/^(SIG)?[A-Z0-9]+$/)
      .default('SIGTERM'),
    stopGraceSeconds: z.number().int().min(0).max(3600).default(10),
    logs: ContainerLogOptions.optional(),
    start: z.boolean().default(true).describe('false: create only (`docker create`)'),
  })
  .meta({ id: 'CreateContainer' });
export type CreateContainerBody = z.input<typeof CreateContainerBody>;

export const Container = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    image: z.string().describe('The reference or image as given at create'),
    imageId: z.string().nullable().describe('The imported Hearth image; null while pulling'),
    imageDigest: z.string().nullable(),
    entrypoint: z.array(z.string()).nullable(),
    command: z.array(z.string()).nullable(),
    workdir: z.string().nullable(),
    user: z.string().nullable(),
    env: z.record(z.string(), z.string()),
    secretEnv: z.record(z.string(), z.string()).describe('Variable → secret name (values are never shown)'),
    ports: z.array(ContainerPort),
    volumes: z.array(ContainerVolume),
    vcpus: z.number().int(),
    memoryMib: z.number().int(),
    network: z.string().nullable(),
    networkAliases: z.array(z.string()),
    labels: z.record(z.string(), z.string()),
    restart: z.string(),
    healthcheck: HealthCheck.nullable(),
    stopSignal: z.string(),
    stopGraceSeconds: z.number().int(),
    state: ContainerState,
    stateReason: z.string().nullable().describe('Why it is exited or failed, with the last log lines'),
    health: HealthStatus.nullable().describe('null when there is no health check'),
    exitCode: z.number().int().nullable(),
    restarts: z.number().int().describe('Restarts by the restart policy, in total'),
    pull: z
      .object({ percent: z.number().nullable(), message: z.string() })
      .nullable()
      .describe('Progress while `pulling`'),
    vm: z.string().nullable().describe('The id of the microVM that runs it'),
    host: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: 'Container' });
export type Container = z.infer<typeof Container>;

export const ListContainersQuery = PageQuery.extend({
  all: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('Include exited and failed containers (default: only those not exited)'),
  state: ContainerState.optional(),
  name: z.string().optional().describe('Name prefix'),
  label: z.string().optional().describe('`key` or `key=value`'),
  project: z.string().optional(),
});

export const StopContainerBody = z
  .strictObject({
    signal: z
      .string()
      .regex(/^(SIG)?[A-Z0-9]+$/)
      .optional()
      .describe("Default the container's stopSignal"),
    timeoutSeconds: z.number().int().min(0).max(3600).optional().describe('Default stopGraceSeconds'),
  })
  .meta({ id: 'StopContainer' });

export const KillContainerBody = z
  .strictObject({
    signal: z
      .string()
      .regex(/^(SIG)?[A-Z0-9]+$/)
      .default('SIGKILL'),
  })
  .meta({ id: 'KillContainer' });

export const DeleteContainerQuery = z.strictObject({
  force: z.enum(['true', 'false', '1', '0']).optional().describe('Remove a running container (killed)'),
  volumes: z.enum(['true', 'false', '1', '0']).optional().describe('Also delete its named volumes'),
});

export const WaitContainerQuery = z.strictObject({
  condition: z.enum(['running', 'healthy', 'exited', 'removed']).default('running'),
  timeout: z.coerce.number().min(0).max(600).default(60).describe('Seconds'),
});

export const ContainerLogsQuery = z.strictObject({
  follow: z.enum(['true', 'false', '1', '0']).optional().describe('Keep streaming new lines'),
  since: z.string().optional().describe('RFC 3339 time, unix seconds, or a duration back from now (`10m`)'),
  until: z.string().optional(),
  tail: z.string().optional().describe('Lines from the end (`all` or a number)'),
  stdout: z.enum(['true', 'false', '1', '0']).optional().describe('Default true'),
  stderr: z.enum(['true', 'false', '1', '0']).optional().describe('Default true'),
  timestamps: z.enum(['true', 'false', '1', '0']).optional().describe('Prefix each line with its time'),
  format: z
    .enum(['text', 'ndjson'])
    .default('text')
    .describe('`text`: the lines; `ndjson`: ContainerLogLine objects'),
});
export type ContainerLogsQuery = z.infer<typeof ContainerLogsQuery>;

export const ContainerLogLine = z
  .object({
    t: Timestamp,
    stream: z.enum(['stdout', 'stderr']),
    line: z.string(),
  })
  .meta({ id: 'ContainerLogLine' });
export type ContainerLogLine = z.infer<typeof ContainerLogLine>;

export const ContainerEvent = z
  .object({
    seq: z.number().int(),
    containerId: z.string(),
    type: z.string().describe('`state`, `health`, `restarted`, `pulled`, `exec`, …'),
    message: z.string(),
    at: Timestamp,
  })
  .meta({ id: 'ContainerEvent' });
export type ContainerEvent = z.infer<typeof ContainerEvent>;

export const ContainerStats = z
  .object({
    cpuPercent: z.number().nullable(),
    memoryBytes: z.number().nullable(),
    memoryLimitBytes: z.number().nullable(),
    netRxBytes: z.number().nullable(),
    netTxBytes: z.number().nullable(),
    diskReadBytes: z.number().nullable(),
    diskWriteBytes: z.number().nullable(),
    pids: z.number().int().nullable(),
    at: Timestamp,
  })
  .meta({ id: 'ContainerStats' });
export type ContainerStats = z.infer<typeof ContainerStats>;

/** Project secrets: write-only values, encrypted at rest, used by `secretEnv`. */
export const Secret = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Secret' });
export const PutSecretBody = z
  .strictObject({ value: z.string().max(64 * 1024), project: Name.default('default') })
  .meta({ id: 'PutSecret' });

/** Credentials for a private registry host, encrypted at rest, never returned. */
export const RegistryCredential = z
  .object({
    registry: z.string().describe('Host[:port], e.g. `ghcr.io` or `registry.internal:5000`'),
    username: z.string(),
    project: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'RegistryCredential' });
export const PutRegistryCredentialBody = z
  .strictObject({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(8192),
    project: Name.default('default'),
  })
  .meta({ id: 'PutRegistryCredential' });
