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
  })
  .meta({ id: 'RegisterHost' });
export type RegisterHostBody = z.infer<typeof RegisterHostBody>;

export const RegisterHostResponse = z.object({ host: Host, agentToken: z.string() });
