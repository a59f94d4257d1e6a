import { HostDrain } from './migration.ts';
import { z } from 'zod';
import { Timestamp } from './common.ts';
import { Ipv4 } from './network.ts';

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
});
export type HostInventory = z.infer<typeof HostInventory>;

export const Host = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string(),
    state: z.enum(['ready', 'offline']),
    cordoned: z.boolean(),
    drain: HostDrain.nullable().describe('The last drain: each VM moved off, or why not'),
    inventory: HostInventory,
    vmCount: z.number().int(),
    allocatedVcpus: z.number().int(),
    allocatedMemoryMib: z.number().int(),
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
