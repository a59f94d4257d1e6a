import { z } from 'zod';

/**
 * The host configuration file, `/etc/hearth/hearth.yaml` (docs/install.md is its reference): what
 * `hearth manager`, `hearth agent` and `hearth up` read at start. Every key has one environment
 * variable (ENV_OF below) that overrides the file; command-line flags override both. Unknown keys
 * are refused with their path, so a typo never silently leaves a setting at its default.
 */

/** `true`/`false` in YAML; `1`/`0`/`true`/`false`/`yes`/`no` from the environment. */
const flag = z.union([
  z.boolean(),
  z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v)),
]);
/** A YAML list, or a comma-separated string from the environment. */
const list = z.union([
  z.array(z.string().min(1)),
  z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ),
]);
const port = z.coerce.number().int().min(0).max(65535);
const mib = z.coerce.number().int().min(0);
const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 90d, 12h, 5m or 30s');
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 subnet like 10.213.0.0/24');

const Log = z.strictObject({
  level: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('Least severe level written'),
  format: z
    .enum(['auto', 'pretty', 'json'])
    .default('auto')
    .describe('auto: readable lines on a terminal, JSON lines otherwise (journald, files)'),
});

const Network = z.strictObject({
  enabled: flag.default(true).describe('false: VMs boot without a NIC (no default network)'),
  bridge: z.string().min(1).max(15).default('hearth0').describe('Bridge of the default NAT network'),
  cidr: cidr.default('10.213.0.0/24').describe('Subnet of the default NAT network'),
});

const Docker = z.strictObject({
  socket: z
    .string()
    .optional()
    .describe("Unix socket of the Docker API ('' for none; default <dataDir>/manager/docker.sock)"),
  socketMode: z
    .string()
    .regex(/^0?[0-7]{3}$/, 'an octal mode like 0600')
    .optional()
    .describe('Its mode'),
  listen: z.string().optional().describe('host:port of a TCP Docker API (default none)'),
});

const Manager = z.strictObject({
  listen: z.string().min(1).default('127.0.0.1').describe('Address the API listens on'),
  port: port.default(18080).describe('API port'),
  databaseUrl: z
    .string()
    .optional()
    .describe('PostgreSQL URL; unset: the embedded database in <dataDir>/manager/db'),
  network: Network.prefault({}),
  adminPassword: z.string().optional().describe("First administrator's password (first start only)"),
  auditRetention: duration.optional().describe('How long audit records are kept (default 90d)'),
  idempotencyRetention: duration.optional().describe('How long Idempotency-Keys are kept (default 24h)'),
  e2bDomain: z.string().optional().describe("Domain of the E2B sandboxes' host names"),
  allowHostPathImport: flag.default(false).describe('Image imports may read files on the manager host'),
  insecureRegistries: list.default([]).describe('Registries (host:port) reached over plain HTTP'),
  importAllow: list.optional().describe('Special addresses imports may reach (CIDRs, host:port)'),
  memoryReserveMib: mib.optional().describe('Memory kept free on each host (default 512)'),
  vmOverheadMib: mib
    .optional()
    .describe('VMM overhead counted per VM (default 112; 64 where hosts have KVM)'),
  diskReserveMib: mib.optional().describe('Host disk kept free of VM disks (default 2048)'),
  placementStrategy: z
    .enum(['spread', 'pack'])
    .optional()
    .describe('spread: least loaded host first (default); pack: fullest host that fits'),
  cpuOvercommit: z.coerce
    .number()
    .min(0.1)
    .max(64)
    .optional()
    .describe('vCPUs promised per host CPU, unless the host sets its own (default 16)'),
  memoryOvercommit: z.coerce
    .number()
    .min(0.1)
    .max(64)
    .optional()
    .describe('Guest memory promised per MiB of host memory, unless the host sets its own (default 1)'),
  docker: Docker.prefault({}),
});

/** Manager replicas' URLs in one setting: separated by commas or spaces. */
const urlList = (v: string) => v.split(/[\s,]+/).filter(Boolean);

const Agent = z.strictObject({
  manager: z
    .string()
    .refine(
      (v) => urlList(v).length > 0 && urlList(v).every((u) => /^https?:\/\//.test(u) && URL.canParse(u)),
      'one or more http(s) URLs, separated by commas',
    )
    .optional()
    .describe(
      'URL of the manager to join (required by `hearth agent`); several replicas: their URLs separated by commas, tried in turn',
    ),
  joinToken: z.string().optional().describe('Join token (first registration only)'),
  listen: z.string().min(1).default('127.0.0.1').describe('Address the agent API listens on'),
  port: port.default(18081).describe('Agent API port'),
  advertise: z.url().optional().describe('URL the manager uses to reach this agent'),
  name: z.string().optional().describe('Host name (default: the hostname)'),
  bridge: z.string().max(15).optional().describe('Bridge for VM NICs (with cidr)'),
  cidr: cidr.optional().describe('Subnet of that bridge'),
  underlay: z.string().optional().describe('Address other hosts reach this one on (VXLAN)'),
  dnsUpstream: list.optional().describe("DNS servers the networks' forwarders ask"),
  ksm: flag.default(false).describe('Kernel same-page merging'),
  firecrackerDiffSnapshots: flag
    .default(true)
    .describe(
      'Firecracker VMs track dirty pages so diff snapshots can be taken (false: full snapshots only)',
    ),
  maxBoots: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'VMs booting at once at most; more wait their turn (default: the cores under TCG, 4 per core with KVM)',
    ),
  tcgCacheMib: z.coerce
    .number()
    .int()
    .min(1)
    .max(2048)
    .optional()
    .describe(
      "QEMU without KVM: each VM's translated-code cache in MiB (default 64; less saves memory per VM, costs CPU when guests run code that no longer fits)",
    ),
  tlsCert: z.string().optional().describe("Serve the API with the operator's certificate (PEM file)"),
  tlsKey: z.string().optional().describe('Its private key (PEM file)'),
  insecureHttp: flag.default(false).describe('Serve the agent API over plain HTTP'),
  labels: list
    .optional()
    .describe('Host labels as key=value, set at each registration (VM host selectors match them)'),
});

export const HostConfig = z.strictObject({
  dataDir: z.string().min(1).default('/var/lib/hearth').describe('State of the manager and agent'),
  log: Log.prefault({}),
  manager: Manager.prefault({}),
  agent: Agent.prefault({}),
});
export type HostConfig = z.infer<typeof HostConfig>;

/** Where the file is looked for unless `--config` or HEARTH_CONFIG names another. */
export const DEFAULT_CONFIG_PATH = '/etc/hearth/hearth.yaml';

/**
 * The environment variable of every key. Most are the names Hearth read before the file existed,
 * so existing setups keep working.
 */
export const ENV_OF: Record<string, string> = {
  dataDir: 'HEARTH_DATA_DIR',
  'log.level': 'HEARTH_LOG_LEVEL',
  'log.format': 'HEARTH_LOG_FORMAT',
  'manager.listen': 'HEARTH_LISTEN',
  'manager.port': 'HEARTH_PORT',
  'manager.databaseUrl': 'DATABASE_URL',
  'manager.network.enabled': 'HEARTH_NETWORK',
  'manager.network.bridge': 'HEARTH_BRIDGE',
  'manager.network.cidr': 'HEARTH_CIDR',
  'manager.adminPassword': 'HEARTH_ADMIN_PASSWORD',
  'manager.auditRetention': 'HEARTH_AUDIT_RETENTION',
  'manager.idempotencyRetention': 'HEARTH_IDEMPOTENCY_RETENTION',
  'manager.e2bDomain': 'HEARTH_E2B_DOMAIN',
  'manager.allowHostPathImport': 'HEARTH_ALLOW_HOST_PATH_IMPORT',
  'manager.insecureRegistries': 'HEARTH_INSECURE_REGISTRIES',
  'manager.importAllow': 'HEARTH_IMPORT_ALLOW',
  'manager.memoryReserveMib': 'HEARTH_MEMORY_RESERVE_MIB',
  'manager.vmOverheadMib': 'HEARTH_VM_OVERHEAD_MIB',
  'manager.diskReserveMib': 'HEARTH_DISK_RESERVE_MIB',
  'manager.placementStrategy': 'HEARTH_PLACEMENT_STRATEGY',
  'manager.cpuOvercommit': 'HEARTH_CPU_OVERCOMMIT',
  'manager.memoryOvercommit': 'HEARTH_MEMORY_OVERCOMMIT',
  'manager.docker.socket': 'HEARTH_DOCKER_SOCKET',
  'manager.docker.socketMode': 'HEARTH_DOCKER_SOCKET_MODE',
  'manager.docker.listen': 'HEARTH_DOCKER_LISTEN',
  'agent.manager': 'HEARTH_MANAGER_URL',
  'agent.joinToken': 'HEARTH_JOIN_TOKEN',
  'agent.listen': 'HEARTH_AGENT_LISTEN',
  'agent.port': 'HEARTH_AGENT_PORT',
  'agent.advertise': 'HEARTH_AGENT_ADVERTISE',
  'agent.name': 'HEARTH_AGENT_NAME',
  'agent.bridge': 'HEARTH_AGENT_BRIDGE',
  'agent.cidr': 'HEARTH_AGENT_CIDR',
  'agent.underlay': 'HEARTH_AGENT_UNDERLAY',
  'agent.dnsUpstream': 'HEARTH_AGENT_DNS_UPSTREAM',
  'agent.ksm': 'HEARTH_AGENT_KSM',
  'agent.firecrackerDiffSnapshots': 'HEARTH_AGENT_FIRECRACKER_DIFF_SNAPSHOTS',
  'agent.maxBoots': 'HEARTH_AGENT_MAX_BOOTS',
  'agent.tcgCacheMib': 'HEARTH_AGENT_TCG_CACHE_MIB',
  'agent.tlsCert': 'HEARTH_AGENT_TLS_CERT',
  'agent.tlsKey': 'HEARTH_AGENT_TLS_KEY',
  'agent.insecureHttp': 'HEARTH_AGENT_INSECURE_HTTP',
  'agent.labels': 'HEARTH_AGENT_LABELS',
};

/** Every key path of the schema (leaves), in declaration order: the docs and ENV_OF cover each. */
export function configKeys(shape: z.ZodType = HostConfig, prefix = ''): string[] {
  let s: z.ZodType = shape;
  // Unwrap defaults and optionals to reach an object, if any.
  while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional)
    s = s.unwrap() as z.ZodType;
  if (!(s instanceof z.ZodObject)) return [prefix];
  return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) =>
    configKeys(v, prefix ? `${prefix}.${k}` : k),
  );
}
