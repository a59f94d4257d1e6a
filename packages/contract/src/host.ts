import { HostDrain } from './migration.ts';
import { z } from 'zod';
import { Timestamp } from './common.ts';
import { Ipv4 } from './network.ts';
import { HostLabels } from './placement.ts';

export const VmmAvailability = z.object({
  kind: z.enum(['firecracker', 'qemu']),
  available: z.boolean(),
  accel: z.enum(['kvm', 'tcg']).nullable(),
  version: z.string().nullable(),
  reason: z.string().nullable().describe('Why it is unavailable, or what limits it.'),
});
export type VmmAvailability = z.infer<typeof VmmAvailability>;

export const HostInventory = z.object({
  cpus: z.number().int(),
  memoryMib: z.number().int(),
  memoryFreeMib: z.number().int(),
  diskFreeMib: z.number().int(),
  kernel: z.string(),
  arch: z.string(),
  vmms: z.array(VmmAvailability),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  interfaces: z
    .array(
      z.object({
        name: z.string(),
        addresses: z.array(z.string()),
        master: z.string().nullable().default(null).describe('The bridge or bond it is a port of'),
      }),
    )
    .default([])
    .describe('Host network interfaces that bridged networks may use (not ours, not loopback)'),
  underlay: Ipv4.nullable().default(null).describe('Address other hosts reach this one on for VXLAN'),
  cpuPercent: z
    .number()
    .min(0)
    .max(100)
    .nullable()
    .default(null)
    .describe('Busy share of all CPUs since the previous heartbeat, 0–100 (null at registration)'),
});
export type HostInventory = z.infer<typeof HostInventory>;

/**
 * `ready`: heartbeating. `offline`: not heard from for a short while (or since the manager
 * started); its VMs are left as recorded. `unreachable`: silent past the grace period; its VMs
 * are `unknown` until it speaks again. `dead`: declared dead by an operator (fenced): its VMs were
 * restarted elsewhere or marked lost, and a returning agent is told to destroy them.
 */
export const HostState = z.enum(['ready', 'offline', 'unreachable', 'dead']);
export type HostState = z.infer<typeof HostState>;

export const Host = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string(),
    state: HostState,
    cordoned: z.boolean().describe('No new VMs are placed on it (`hearth host cordon`)'),
    deadAt: Timestamp.nullable().describe('When an operator declared it dead (`hearth host declare-dead`)'),
    drain: HostDrain.nullable().describe('The last drain: each VM moved off, or why not'),
    inventory: HostInventory,
    vmCount: z.number().int(),
    allocatedVcpus: z.number().int(),
    allocatedMemoryMib: z.number().int(),
    allocatedDiskMib: z
      .number()
      .int()
      .describe('Declared root disks of the VMs recorded on it (every state but deleted and lost), MiB'),
    labels: HostLabels,
    cpuOvercommit: z
      .number()
      .nullable()
      .describe("vCPUs promised per host CPU at most; null: the manager's default"),
    memoryOvercommit: z
      .number()
      .nullable()
      .describe("Memory promised per MiB of the host's at most; null: the manager's default"),
    lastHeartbeatAt: Timestamp,
    createdAt: Timestamp,
  })
  .meta({ id: 'Host' });
export type Host = z.infer<typeof Host>;

export const RegisterHostBody = z
  .strictObject({
    name: z.string().min(1).max(63),
    url: z.url().describe('Where the manager reaches this agent'),
    callbackToken: z.string().min(32).describe('Bearer token the manager uses when calling the agent'),
    inventory: HostInventory,
    labels: HostLabels.optional().describe(
      "The agent's labels (`hearth agent --label k=v`): set on the host at each registration; other keys (an administrator's) stay",
    ),
    certificate: z
      .literal('issue')
      .optional()
      .describe(
        "Ask the manager for a TLS key and certificate for the agent's API (`url` is https); absent: the agent has its own (operator-supplied) or serves plain HTTP",
      ),
    servingCertificate: z
      .string()
      .max(65_536)
      .optional()
      .describe(
        'The PEM certificate an agent with an operator-supplied certificate serves: the manager pins it and accepts no other for this host until the next registration',
      ),
  })
  .meta({ id: 'RegisterHost' });
export type RegisterHostBody = z.infer<typeof RegisterHostBody>;

/** What an agent serves its API with: PEM key and certificate, and the CA that issued them. */
export const AgentTlsMaterial = z
  .object({ ca: z.string(), cert: z.string(), key: z.string() })
  .meta({ id: 'AgentTlsMaterial' });
export type AgentTlsMaterial = z.infer<typeof AgentTlsMaterial>;

export const RegisterHostResponse = z.object({
  host: Host,
  agentToken: z.string(),
  tls: AgentTlsMaterial.optional().describe('Issued when the registration asked for a certificate'),
});

export const RemoveHostQuery = z.object({
  force: z
    .enum(['true', 'false'])
    .optional()
    .describe(
      'Remove a host that is gone for good even though it holds VMs, volumes or snapshots: its VMs are marked `lost` (then deletable without the agent), its volumes and snapshots are forgotten.',
    ),
});

export const RemovedHost = z
  .object({
    id: z.string(),
    name: z.string(),
    lostVms: z.array(z.string()).describe('Ids of the VMs now `lost`'),
    forgottenVolumes: z.array(z.string()),
    forgottenSnapshots: z.array(z.string()),
  })
  .meta({ id: 'RemovedHost' });
export type RemovedHost = z.infer<typeof RemovedHost>;

/** What declaring a host dead did to each VM it held. */
export const DeclaredDeadHost = z
  .object({
    id: z.string(),
    name: z.string(),
    restarted: z
      .array(z.object({ vm: z.string(), host: z.string(), from: z.enum(['snapshot', 'image']) }))
      .describe('VMs with restart policy `always` started on another host'),
    lost: z.array(z.object({ vm: z.string(), reason: z.string() })).describe('VMs now `lost`, with why'),
  })
  .meta({ id: 'DeclaredDeadHost' });
export type DeclaredDeadHost = z.infer<typeof DeclaredDeadHost>;
