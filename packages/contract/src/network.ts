import { z } from 'zod';
import { Name, PageQuery, Timestamp } from './common.ts';

/**
 * nat: a private subnet behind the host's address (default). isolated: VMs on it reach each other
 * and nothing else. bridged: onto a host interface, guests on that LAN (DHCP from its server, or
 * static from `cidr`). vxlan: one L2 segment spanning hosts over UDP.
 */
export const NetworkMode = z.enum(['nat', 'isolated', 'bridged', 'vxlan']);
export type NetworkMode = z.infer<typeof NetworkMode>;

/**
 * Host features (the `net-*` checks of `hearth doctor`) a network needs beyond a Linux bridge,
 * which every mode needs. One rule for the manager (validation, placement) and the agent.
 */
export function networkNeeds(n: { mode: NetworkMode; vlan: number | null }): string[] {
  const out: string[] = [];
  if (n.mode === 'nat') out.push('net-nat');
  if (n.mode === 'vxlan') out.push('net-vxlan');
  if (n.vlan !== null) out.push('net-8021q', 'net-bridge-vlan-filtering');
  return out;
}

/**
 * Everything a host must offer to carry a network, by the probe's names: a Linux bridge (every
 * mode), the features of `networkNeeds`, and for VXLAN the host's underlay address (agent option
 * `--underlay`). One rule for the agent (before it builds a network) and the manager (placement).
 */
export function networkHostNeeds(n: { mode: NetworkMode; vlan: number | null }): {
  features: string[];
  underlay: boolean;
} {
  return { features: ['net-bridge', ...networkNeeds(n)], underlay: n.mode === 'vxlan' };
}

/** What each `net-*` feature is, for error messages. */
export const NET_FEATURE_NAMES: Record<string, string> = {
  'net-bridge': 'Linux bridges',
  'net-nat': 'nftables NAT',
  'net-vxlan': 'VXLAN',
  'net-8021q': '802.1Q VLAN devices',
  'net-bridge-vlan-filtering': 'bridge VLAN filtering',
  'net-tc': 'tc shaping',
};

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ipv4Re = new RegExp(`^${octet}(\\.${octet}){3}$`);
export const Ipv4 = z.string().regex(ipv4Re, 'an IPv4 address such as 10.0.0.1');
export const Ipv4Cidr = z
  .string()
  .regex(new RegExp(`^${octet}(\\.${octet}){3}/(3[0-2]|[12]?\\d)$`), 'an IPv4 CIDR such as 10.20.0.0/24');

export const CreateNetworkBody = z
  .strictObject({
    name: Name,
    mode: NetworkMode.default('nat'),
    cidr: Ipv4Cidr.optional().describe(
      'Subnet the manager assigns addresses from. Required except on bridged networks (absent there: guests use DHCP).',
    ),
    gateway: Ipv4.optional().describe(
      'nat: the host address on the bridge (default the first address). bridged: the LAN router for static addressing.',
    ),
    dns: z.array(Ipv4).max(4).optional().describe('DNS servers for guests; nat default: the gateway.'),
    interface: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'a Linux interface name')
      .optional()
      .describe('bridged: the host interface to bridge onto.'),
    vlan: z.number().int().min(1).max(4094).optional().describe('bridged: 802.1Q VLAN id.'),
    vni: z.number().int().min(1).max(16_777_215).optional().describe('vxlan: the VXLAN network identifier.'),
    port: z.number().int().min(1).max(65535).optional().describe('vxlan: UDP port (default 4789).'),
    allowMetadata: z
      .boolean()
      .optional()
      .describe(
        'Let guests reach the link-local range 169.254.0.0/16 (cloud instance metadata) through the host; default false.',
      ),
  })
  .meta({ id: 'CreateNetwork' });
export type CreateNetworkBody = z.input<typeof CreateNetworkBody>;

export const Network = z
  .object({
    id: z.string(),
    name: z.string(),
    mode: NetworkMode,
    cidr: z.string().nullable(),
    gateway: z.string().nullable(),
    dns: z.array(z.string()),
    interface: z.string().nullable(),
    vlan: z.number().int().nullable(),
    vni: z.number().int().nullable(),
    port: z.number().int().nullable(),
    allowMetadata: z.boolean().describe('Guests may reach 169.254.0.0/16 (cloud instance metadata)'),
    bridge: z.string().describe('The Linux bridge that carries it on each host'),
    isDefault: z.boolean(),
    requires: z.array(z.string()).describe('Host features it needs (`hearth doctor` names)'),
    vmCount: z.number().int(),
    createdAt: Timestamp,
  })
  .meta({ id: 'Network' });
export type Network = z.infer<typeof Network>;

export const ListNetworksQuery = PageQuery.extend({ mode: NetworkMode.optional() });

export const Lease = z
  .object({
    vmId: z.string(),
    vmName: z.string(),
    nic: z.number().int().describe('NIC index inside the VM (0 = first)'),
    mac: z.string(),
    ip: z.string().nullable().describe('null until a DHCP guest reported its address'),
    source: z.enum(['ipam', 'dhcp']),
    host: z.string().nullable(),
  })
  .meta({ id: 'Lease' });
export type Lease = z.infer<typeof Lease>;

/** A NIC request on create: a network id/name, optionally with a fixed address. */
export const NicRequest = z.union([
  z.string().min(1),
  z.strictObject({ network: z.string().min(1), ip: Ipv4.optional() }),
]);
export type NicRequest = z.infer<typeof NicRequest>;

export const VmNic = z.object({
  network: z.string().describe('Network id'),
  networkName: z.string(),
  mac: z.string(),
  ip: z.string().nullable(),
});
export type VmNic = z.infer<typeof VmNic>;

const domainLabel = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
/** `example.com`, or `*.example.com` for the names under it; lower case. */
export const DomainPattern = z
  .string()
  .max(253)
  .regex(
    new RegExp(`^(\\*\\.)?${domainLabel}(\\.${domainLabel})*$`),
    'a domain name such as example.com, or *.example.com for the names under it (lower case)',
  );

/**
 * What a VM may reach outside its own networks. Traffic to the subnets of its networks (and so
 * its gateway and DNS) always passes; then `deny` wins over `allow`; anything else gets `default`.
 * `domains` (with default deny) also allows the addresses those names resolve to through the
 * gateway's DNS forwarder, as they resolve; DNS to any other server is refused then.
 */
export const EgressPolicy = z
  .strictObject({
    default: z.enum(['allow', 'deny']).default('allow'),
    allow: z.array(Ipv4Cidr.or(Ipv4)).max(256).default([]),
    deny: z.array(Ipv4Cidr.or(Ipv4)).max(256).default([]),
    domains: z
      .array(DomainPattern)
      .max(256)
      .optional()
      .describe(
        'Names whose addresses are allowed once resolved through the gateway (exact, or *.example.com); needs default deny',
      ),
  })
  .refine((e) => !e.domains?.length || e.default === 'deny', {
    message: 'allowed domains need default deny (everything else is allowed anyway under default allow)',
    path: ['domains'],
  })
  .meta({ id: 'EgressPolicy' });
export type EgressPolicy = z.infer<typeof EgressPolicy>;

export const BandwidthMbit = z
  .number()
  .int()
  .min(1)
  .max(100_000)
  .describe('Per-NIC rate limit in Mbit/s, each direction');
