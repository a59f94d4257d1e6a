import { LastMigration } from './migration.ts';
import { z } from 'zod';
import { Name, PageQuery, parseDuration, Timestamp } from './common.ts';
import { VmState } from './vm-state.ts';
import { BandwidthMbit, EgressPolicy, NicRequest, VmNic } from './network.ts';
import { BootProfile } from './boot-profile.ts';
import { AppStatus } from './app-status.ts';
import { AntiAffinityGroup, HostSelector, PlacementStrategy } from './placement.ts';

export const VmmKind = z.enum(['firecracker', 'qemu']);
export type VmmKind = z.infer<typeof VmmKind>;

export const MIN_MEMORY_MIB = 64;

/** `30m`, `2h`, `45s`, `7d`; at most a year so that the stop time is always a real date. */
export const Duration = z
  .string()
  .regex(/^\d{1,9}(ms|s|m|h|d)$/, 'must look like 30m, 2h or 45s')
  .refine((t) => (parseDuration(t) ?? Infinity) <= 366 * 86_400_000, 'must be at most 366d');
export const MAX_VCPUS = 64;

/**
 * What happens to the VM when its host is declared dead: `always` starts it on another host (from
 * its latest snapshot on a live host, else afresh from its image); `no` marks it `lost`.
 */
export const VmRestartPolicy = z
  .enum(['no', 'always'])
  .describe(
    'When its host is declared dead: `always` restarts it on another host (latest reachable snapshot, else its image: the disk starts afresh); `no` (default) marks it lost',
  );
export type VmRestartPolicy = z.infer<typeof VmRestartPolicy>;

/**
 * What a drain of its host does with the VM (docs/migration.md § Drain): `migrate` moves it live
 * where it can, else stops it, moves it cold and starts it again; `stop` stops it and moves it
 * cold, leaving it stopped; `stay` leaves it on the host (the drain reports it skipped).
 */
export const VmDrainPolicy = z
  .enum(['migrate', 'stop', 'stay'])
  .describe(
    'When its host is drained: `migrate` (default) moves it live where possible, else stop, cold move, start; `stop` stops it and moves it cold (it stays stopped); `stay` leaves it there (the drain reports it skipped)',
  );
export type VmDrainPolicy = z.infer<typeof VmDrainPolicy>;

/** A host port forwarded to the VM (DNAT on the VM's host, for traffic addressed to that host). */
export const PortMapping = z
  .strictObject({
    host: z.number().int().min(1).max(65535),
    guest: z.number().int().min(1).max(65535),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
  })
  .meta({ id: 'PortMapping' });
export type PortMapping = z.infer<typeof PortMapping>;
const Ports = z
  .array(PortMapping)
  .max(64)
  .refine(
    (ps) => new Set(ps.map((p) => `${p.host}/${p.protocol}`)).size === ps.length,
    'each host port and protocol at most once',
  );

export const CreateVmBody = z
  .strictObject({
    name: Name.optional().describe('Unique per project; generated when omitted.'),
    project: Name.default('default'),
    vcpus: z.number().int().min(1).max(MAX_VCPUS).default(1),
    memoryMib: z
      .number()
      .int()
      .min(MIN_MEMORY_MIB)
      .max(1024 * 1024)
      .default(128),
    image: z
      .string()
      .min(1)
      .optional()
      .describe('Rootfs image id or name; default: the built-in base image.'),
    kernel: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Kernel image id or name; default: the kernel the image carries (a whole-disk import's own) when the VMM can boot it, else the built-in kernel.",
      ),
    diskSize: z
      .string()
      .optional()
      .describe('Root disk size such as `2gb` or `512mib`; default 1 GiB (never smaller than the image).'),
    diskGib: z
      .number()
      .positive()
      .max(4096)
      .optional()
      .describe('Root disk size in GiB (alternative to diskSize).'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
    timeout: Duration.optional().describe('Stop the VM automatically after this long running.'),
    restartPolicy: VmRestartPolicy.optional(),
    drainPolicy: VmDrainPolicy.optional(),
    start: z.boolean().default(true),
    vmm: z.enum(['firecracker', 'qemu']).optional().describe('Default: the best VMM the chosen host offers.'),
    host: z
      .string()
      .min(1)
      .optional()
      .describe('Place the VM on this host (id or name); default: the scheduler picks.'),
    hostSelector: HostSelector.optional(),
    antiAffinityGroup: AntiAffinityGroup.optional(),
    placementStrategy: PlacementStrategy.optional().describe(
      "How the host is chosen among those that fit; default the manager's (`spread` unless configured).",
    ),
    labels: z.record(z.string().max(63), z.string().max(255)).optional(),
    ports: Ports.optional().describe("Published ports: host port → guest port, on the VM's host."),
    network: z
      .string()
      .min(1)
      .optional()
      .describe('The network of the single NIC (id or name); default the NAT network.'),
    networks: z
      .array(NicRequest)
      .min(1)
      .max(4)
      .optional()
      .describe('One NIC per entry, in order: a network id/name, or {network, ip} for a fixed address.'),
    egress: EgressPolicy.optional().describe(
      'What the VM may reach outside its networks; default allow all.',
    ),
    bandwidthMbit: BandwidthMbit.optional(),
    snapshot: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Clone from this snapshot (id or name): its resources, disk and memory; a new name and address.',
      ),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a lower-case login name of at most 32 characters')
      .optional()
      .describe('Account to set up at boot (created when missing); default root.'),
    password: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("Password for `user`; stored only as a SHA-512 crypt hash in the guest's /etc/shadow."),
    sshKeys: z
      .array(
        z.string().regex(/^(ssh|ecdsa|sk)-[\w@.-]+ [A-Za-z0-9+/=]+( .*)?$/, 'an OpenSSH public key line'),
      )
      .max(32)
      .optional()
      .describe("Public keys written to the user's ~/.ssh/authorized_keys."),
    userData: z
      .string()
      .min(1)
      .max(64 * 1024)
      .optional()
      .describe(
        "cloud-init user data (`#cloud-config` YAML, a script, …) for images that run cloud-init: handed to it as the NoCloud seed's user-data on the first boot. The hostname, `user`, `password` and `sshKeys` stay the guest agent's.",
      ),
    pool: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Take a VM booted ahead of time from this warm pool (id or name); it gets this name, env and credentials. An empty pool falls back to a normal boot (`boot.source` says which happened).',
      ),
  })
  .meta({ id: 'CreateVm' });
export type CreateVmBody = z.input<typeof CreateVmBody>;

export const PatchVmBody = z
  .strictObject({
    name: Name.optional(),
    vcpus: z.number().int().min(1).max(MAX_VCPUS).optional(),
    memoryMib: z
      .number()
      .int()
      .min(MIN_MEMORY_MIB)
      .max(1024 * 1024)
      .optional(),
    labels: z.record(z.string().max(63), z.string().max(255)).optional(),
    timeout: Duration.nullable().optional(),
    restartPolicy: VmRestartPolicy.optional(),
    drainPolicy: VmDrainPolicy.optional(),
    ports: Ports.optional().describe('Replaces the published ports; applied at once on a running VM.'),
    egress: EgressPolicy.optional().describe('Replaces the egress policy; applied at once on a running VM.'),
    bandwidthMbit: BandwidthMbit.nullable().optional().describe('null removes the limit; applied at once.'),
  })
  .meta({ id: 'PatchVm' });
export type PatchVmBody = z.infer<typeof PatchVmBody>;

export const Vm = z
  .object({
    id: z.string(),
    name: z.string(),
    project: z.string(),
    state: VmState,
    desiredState: z.enum(['running', 'paused', 'stopped', 'deleted']),
    stateReason: z.string().nullable(),
    vcpus: z.number().int(),
    memoryMib: z.number().int(),
    diskMib: z.number().int(),
    image: z.string().describe('Rootfs image id'),
    users: z.array(z.string()).describe('Accounts set up in the guest at boot'),
    snapshot: z.string().nullable().describe('The snapshot this VM was last restored or cloned from'),
    kernel: z.string().describe('Kernel image id'),
    vmm: VmmKind.nullable(),
    accel: z.enum(['kvm', 'tcg']).nullable(),
    host: z.string().nullable().describe('Host id'),
    hostSelector: z.record(z.string(), z.string()).describe('Labels its host had to carry when placed'),
    antiAffinityGroup: z
      .string()
      .nullable()
      .describe('No other VM of this group in the project shares its host'),
    ip: z.string().nullable(),
    pid: z.number().int().nullable(),
    env: z.record(z.string(), z.string()),
    labels: z.record(z.string(), z.string()),
    timeout: z.string().nullable(),
    restartPolicy: VmRestartPolicy,
    drainPolicy: VmDrainPolicy,
    ports: z.array(PortMapping),
    networks: z.array(VmNic).describe('NICs in order; `ip` is the first one'),
    egress: EgressPolicy,
    bandwidthMbit: z.number().int().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    startedAt: Timestamp.nullable(),
    stopAt: Timestamp.nullable(),
    uptimeSeconds: z
      .number()
      .nullable()
      .describe('Seconds since the VM last became running; null unless running.'),
    pool: z
      .string()
      .nullable()
      .describe('The warm pool this VM waits in (state `pooled`) or was handed out from'),
    boot: BootProfile.nullable().describe('Where the last start-up time went, step by step'),
    app: AppStatus.nullable().describe(
      "The image's own process, as its guest agent last reported it (OCI images, containers)",
    ),
    lastMigration: LastMigration.nullable().describe('Its last move between hosts (docs/migration.md)'),
  })
  .meta({ id: 'Vm' });
export type Vm = z.infer<typeof Vm>;

export const ListVmsQuery = PageQuery.extend({
  state: VmState.optional(),
  host: z.string().optional(),
  project: z.string().optional(),
  name: z.string().optional().describe('Name prefix'),
});

export const WaitQuery = z.strictObject({
  state: VmState.default('running'),
  timeout: z.coerce.number().min(0).max(600).default(30).describe('Seconds'),
});

export const LogsQuery = z.strictObject({
  tail: z.coerce
    .number()
    .int()
    .min(1)
    .max(8 * 1024 * 1024)
    .default(64 * 1024)
    .describe('Bytes from the end'),
});

export const StopBody = z
  .strictObject({
    force: z.boolean().default(false).describe('Kill the VMM at once instead of a guest shutdown.'),
    timeoutSeconds: z.number().min(0).max(600).default(30).describe('Grace before the VMM is killed.'),
  })
  .meta({ id: 'StopVm' });

export const VmEvent = z
  .object({
    seq: z.number().int(),
    id: z.string(),
    vmId: z.string(),
    type: z.string().describe('`state` for transitions, or another kind such as `created`, `patched`'),
    from: VmState.nullable(),
    to: VmState.nullable(),
    actor: z.string(),
    reason: z.string().nullable(),
    at: Timestamp,
  })
  .meta({ id: 'VmEvent' });
export type VmEvent = z.infer<typeof VmEvent>;
