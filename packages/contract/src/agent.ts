import { z } from 'zod';
import { BootStepTiming } from './boot-profile.ts';
import { HostInventory } from './host.ts';
import { GuestApp } from './guest-protocol.ts';
import { AppStatus } from './app-status.ts';
import { VmSample } from './metrics.ts';
import { EgressPolicy, Ipv4, Ipv4Cidr, NetworkMode } from './network.ts';

/** Everything an agent needs to build a network on its host; names derive from the network id. */
// These strings reach `ip -batch` and `nft -f` text on the host: only plain names pass.
const LinkName = z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'a Linux interface name');

export const AgentNetwork = z.object({
  id: z.string().regex(/^[\w-]{1,64}$/),
  name: z.string(),
  mode: NetworkMode,
  bridge: LinkName,
  cidr: Ipv4Cidr.nullable(),
  gateway: Ipv4.nullable().describe('nat: the host address on the bridge'),
  dnsForwarder: z.boolean().describe('Run a DNS forwarder on the gateway address'),
  interface: LinkName.nullable(),
  vlan: z.number().int().nullable(),
  vxlan: z
    .object({ vni: z.number().int(), port: z.number().int(), remotes: z.array(Ipv4) })
    .nullable()
    .describe('remotes: the underlay addresses of the other hosts'),
  allowMetadata: z
    .boolean()
    .optional()
    .describe('Guests may reach 169.254.0.0/16 (cloud instance metadata); blocked when absent or false'),
});
export type AgentNetwork = z.infer<typeof AgentNetwork>;

/** The domain under which a network's DNS forwarder publishes its VMs: `<name>.<network>.hearth`. */
export const DNS_DOMAIN = 'hearth';

/** A host name as a forwarder's hosts file carries it: dot-separated DNS labels (no spaces, no newlines). */
export const DNS_HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const DnsHostname = z.string().max(253).regex(DNS_HOSTNAME_RE, 'a DNS name');

export const AgentNic = z.object({
  mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
  ip: Ipv4.nullable().describe('null: the guest asks DHCP'),
  prefix: z.number().int().nullable(),
  gateway: Ipv4.nullable().describe("The guest's default route, if this NIC carries it"),
  dns: z.array(Ipv4),
  network: AgentNetwork,
  dnsNames: z
    .array(DnsHostname)
    .optional()
    .describe("Names the network's DNS forwarder answers with this NIC's address: the VM's own"),
  dnsAliases: z
    .array(DnsHostname)
    .optional()
    .describe('Extra names for the address (container network aliases); a VM name on the network wins'),
});
export type AgentNic = z.infer<typeof AgentNic>;

/** New DNS names for a VM's NICs (by MAC), after a rename or a pool hand-out: published at once. */
export const AgentDnsNamesBody = z.strictObject({
  nics: z.array(
    z.object({ mac: z.string(), dnsNames: z.array(DnsHostname), dnsAliases: z.array(DnsHostname) }),
  ),
});
export type AgentDnsNamesBody = z.infer<typeof AgentDnsNamesBody>;

export const AgentNetPolicy = z.strictObject({
  ports: z
    .array(z.object({ host: z.number().int(), guest: z.number().int(), protocol: z.enum(['tcp', 'udp']) }))
    .default([]),
  egress: EgressPolicy.nullable().default(null),
  bandwidthMbit: z.number().int().nullable().default(null),
});
export type AgentNetPolicy = z.infer<typeof AgentNetPolicy>;

/**
 * An image the VM needs. `path` is where the manager keeps it; an agent on another host (or that
 * cannot read it) fetches GET /v1/images/{id}/content and caches it by sha256.
 */
export const AgentImageRef = z.object({ id: z.string().optional(), path: z.string(), sha256: z.string() });
export type AgentImageRef = z.infer<typeof AgentImageRef>;

/** What the manager asks an agent to run. Paths are on the agent's host. */
export const AgentVmSpec = z.strictObject({
  id: z.string(),
  name: z.string(),
  vcpus: z.number().int().min(1),
  memoryMib: z.number().int().min(1),
  diskMib: z.number().int().min(1),
  vmm: z.enum(['firecracker', 'qemu']),
  kernel: AgentImageRef,
  initrd: AgentImageRef.nullable(),
  rootfs: AgentImageRef,
  bootMarker: z.string().nullable().describe('Console text that proves the guest booted'),
  bootArgs: z.string().describe('Extra kernel command line'),
  env: z.record(z.string(), z.string()),
  guest: z
    .object({
      secret: z.string(),
      users: z.array(
        z.object({ name: z.string(), passwordHash: z.string().nullable(), sshKeys: z.array(z.string()) }),
      ),
      app: GuestApp.nullable().optional().describe("The image's own process (OCI ENTRYPOINT + CMD)"),
      userData: z.string().optional().describe('cloud-init user data for the NoCloud seed'),
    })
    .nullable()
    .describe('Guest agent setup; null for VMs created before the guest agent existed'),
  ports: z
    .array(z.object({ host: z.number().int(), guest: z.number().int(), protocol: z.enum(['tcp', 'udp']) }))
    .default([])
    .describe('Published ports: DNAT from this host to the VM address'),
  volumes: z
    .array(z.object({ id: z.string(), readOnly: z.boolean() }))
    .default([])
    .describe('Data volumes by id, in attach order; the agent keeps their files'),
  network: z
    .object({
      bridge: z.string(),
      mac: z.string(),
      ip: z.string(),
      prefix: z.number().int(),
      gateway: z.string(),
      dns: z.string(),
    })
    .nullable()
    .optional()
    .describe('Single-NIC form of older managers; agents turn it into `nics`'),
  nics: z.array(AgentNic).default([]),
  egress: EgressPolicy.nullable().default(null),
  bandwidthMbit: z.number().int().nullable().default(null),
  background: z
    .boolean()
    .optional()
    .describe(
      'A warm pool VM not handed out yet: its VMM runs at a low CPU weight (cgroup), so pool refills take only CPU that running work leaves',
    ),
  appLogs: z
    .object({ maxBytes: z.number().int().min(4096), maxFiles: z.number().int().min(1).max(100) })
    .optional()
    .describe("Rotation of the app's persisted stdout/stderr (default 10 MiB × 5 files)"),
});
export type AgentVmSpec = z.infer<typeof AgentVmSpec>;

/** What the agent observes; `absent` means it has no trace of the VM at all. */
export const AgentVmPhase = z.enum([
  'starting',
  'running',
  'paused',
  'stopping',
  'stopped',
  'failed',
  'absent',
]);
export type AgentVmPhase = z.infer<typeof AgentVmPhase>;

export const AgentVmStatus = z.object({
  id: z.string(),
  phase: AgentVmPhase,
  reason: z.string().nullable(),
  pid: z.number().int().nullable(),
  accel: z.enum(['kvm', 'tcg']).nullable(),
  startedAt: z.string().nullable(),
  bootMs: z.number().nullable().describe('VMM launch to boot marker'),
  bootSteps: z
    .array(BootStepTiming)
    .nullable()
    .optional()
    .describe("The host's steps of the last boot or restore, in order"),
  app: AppStatus.nullable()
    .optional()
    .describe("The guest app's status (pushes from the app log collector; absent: unchanged)"),
  appEvents: z
    .array(z.string())
    .optional()
    .describe('What happened to the app since the last push ("restarted, exit code 1, attempt 3")'),
});
export type AgentVmStatus = z.infer<typeof AgentVmStatus>;

/** Body of the agent's network calls (ensure, teardown). */
export const AgentTeardownNetworkBody = z.strictObject({ network: AgentNetwork });

export const AgentRestoreBody = z.strictObject({
  spec: AgentVmSpec,
  snapshotId: z.string().min(1),
  /** A disk-only snapshot: boot the restored disks (true) or leave the VM stopped. */
  start: z.boolean().default(true),
});
export const AgentSnapshotQuery = z.object({
  kind: z.enum(['memory', 'disk']).default('memory'),
  /** `diff` (Firecracker): only the memory dirtied since the VM's last snapshot, taken or restored. */
  type: z.enum(['full', 'diff']).default('full'),
  /**
   * `disk`: the volume ids to copy, comma-separated (empty: none), as the manager has them
   * attached now; a stopped VM's spec on the host is only renewed at its next start.
   */
  volumes: z
    .string()
    .regex(/^(vol_[A-Za-z0-9]+(,vol_[A-Za-z0-9]+)*)?$/)
    .optional(),
});

export const AgentSnapshotResult = z.object({
  vmm: z.enum(['firecracker', 'qemu']),
  vmmVersion: z.string(),
  type: z.enum(['full', 'diff']),
  vmId: z.string(),
  createdAt: z.string(),
  sizeBytes: z.number(),
  /** A diff: the id of the snapshot on this host whose memory it builds on. */
  base: z.string().nullable().optional(),
  /** sha256 of each file of the snapshot's directory, by name: computed once, the files never change. */
  fileSums: z.record(z.string(), z.string()).optional(),
});
export type AgentSnapshotResult = z.infer<typeof AgentSnapshotResult>;

export const AgentStopBody = z.strictObject({
  force: z.boolean().default(false),
  timeoutMs: z.number().int().min(0).default(30_000),
});

export const HeartbeatBody = z.strictObject({
  inventory: HostInventory,
  vms: z.array(AgentVmStatus),
  samples: z
    .array(VmSample)
    .optional()
    .describe(
      "Guest metrics of the host's running VMs taken since the last heartbeat (the manager keeps them as history)",
    ),
});
export type HeartbeatBody = z.infer<typeof HeartbeatBody>;

/** Pushed by the agent when it notices a change it did not cause (guest powered off, VMM died). */
export const VmStatusReport = z.strictObject({ vms: z.array(AgentVmStatus) });
