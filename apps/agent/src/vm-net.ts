import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import type { AgentNic, AgentVmSpec, EgressPolicy } from '@hearth/contract';
import { sh } from './exec.ts';
import { dropTablesText, linkExists, tapName, type PortTarget } from './net.ts';
import { label, vlanPortCommands } from './networks.ts';
import { guardTable, guardText } from './net/tap-guard.ts';

/**
 * A VM's share of the host network: one TAP per NIC (labelled with the VM and this host), and
 * one nftables `inet` table for its egress policy and its upload rate limit. The download
 * direction is limited by a tbf qdisc on each TAP.
 */

/** The first NIC keeps the name older agents gave the VM's only TAP. */
export const nicTap = (vmId: string, idx: number) => (idx === 0 ? tapName(vmId) : tapName(`${vmId}/${idx}`));

export const policyTable = (vmId: string) =>
  'hearth_eg_' + createHash('sha256').update(vmId).digest('hex').slice(0, 12);

/** NICs of a spec; specs from older managers carry one `network` on the default NAT bridge. */
export function nicsOf(spec: AgentVmSpec): AgentNic[] {
  if (spec.nics?.length) return spec.nics;
  const n = spec.network;
  if (!n) return [];
  return [
    {
      mac: n.mac,
      ip: n.ip,
      prefix: n.prefix,
      gateway: n.gateway,
      dns: [n.dns],
      network: {
        id: 'default',
        name: 'default',
        mode: 'nat',
        bridge: n.bridge,
        cidr: null,
        gateway: n.gateway,
        dnsForwarder: false,
        interface: null,
        vlan: null,
        vxlan: null,
        allowMetadata: false,
      },
    },
  ];
}

/** Where published ports forward to: the first NIC on a NAT network (routed through this host), else the first with an address. */
export function portTarget(spec: AgentVmSpec): PortTarget | null {
  const nics = nicsOf(spec).filter((n) => n.ip);
  const nic = nics.find((n) => n.network.mode === 'nat') ?? nics[0];
  return nic?.ip ? { ip: nic.ip, bridge: nic.network.bridge } : null;
}

/**
 * Kernel command line for the guest's NICs: `hearth.ip=` for a single static NIC (understood by
 * every image we ever built), `hearth.nic=MAC,…` per NIC otherwise (found by MAC in the guest).
 */
export function nicArgs(nics: AgentNic[]): string[] {
  const [first] = nics;
  if (nics.length === 1 && first?.ip) {
    return [`hearth.ip=${first.ip}/${first.prefix},${first.gateway ?? ''},${first.dns[0] ?? ''}`];
  }
  return nics.map((n) =>
    n.ip
      ? `hearth.nic=${n.mac},${n.ip}/${n.prefix},${n.gateway ?? ''},${n.dns[0] ?? ''}`
      : `hearth.nic=${n.mac},dhcp`,
  );
}

/**
 * Makes the VM's TAPs, down and outside any bridge: `attachTaps` brings them into their networks
 * once the VM's filters exist. The kernel drops what a VMM writes to a down TAP (the write fails
 * with EIO), so a guest is never on a network before its anti-spoofing and egress rules are,
 * and the VMM can start while those are written. `owner`: the only uid that may attach to the
 * TAPs (the VM's confined VMM); null: any.
 */
export async function createTaps(
  spec: AgentVmSpec,
  agent: string,
  owner: number | null = null,
): Promise<{ name: string; mac: string }[]> {
  const taps: { name: string; mac: string }[] = [];
  const lines: string[] = [];
  const lbl = label('vm', spec.id, agent);
  for (const [i, nic] of nicsOf(spec).entries()) {
    const name = nicTap(spec.id, i);
    // A leftover with our name belongs to this VM (names derive from the VM id): replace it.
    if (await linkExists(name)) lines.push(`link del dev ${name}`);
    lines.push(
      `tuntap add dev ${name} mode tap${owner === null ? '' : ` user ${owner} group ${owner}`}`,
      `link set dev ${name} alias ${lbl}`,
    );
    taps.push({ name, mac: nic.mac });
  }
  if (lines.length) await sh(['ip', '-batch', '-'], lines.join('\n') + '\n');
  return taps;
}

/**
 * Puts each TAP into its network's bridge (with its VLAN, if any) and brings it up: the last
 * step of plugging a VM in, after its filters. Idempotent.
 */
export async function attachTaps(spec: AgentVmSpec): Promise<void> {
  const nics = nicsOf(spec).map((nic, i) => ({ nic, dev: nicTap(spec.id, i) }));
  if (!nics.length) return;
  const join = nics.map(({ nic, dev }) => `link set dev ${dev} master ${nic.network.bridge}`);
  const up = nics.map(({ dev }) => `link set dev ${dev} up`);
  const tagged = nics.filter(({ nic }) => nic.network.vlan !== null);
  if (!tagged.length) {
    await sh(['ip', '-batch', '-'], [...join, ...up].join('\n') + '\n');
    return;
  }
  // A port's VLAN is set between joining the bridge and coming up, so no untagged frame passes.
  await sh(['ip', '-batch', '-'], join.join('\n') + '\n');
  for (const { nic, dev } of tagged) {
    for (const argv of vlanPortCommands(nic.network.bridge, dev, nic.network.vlan!, false)) await sh(argv);
  }
  await sh(['ip', '-batch', '-'], up.join('\n') + '\n');
}

/** Whether every TAP of the VM is in a bridge and up (sysfs reads, no process). */
export async function tapsAttached(spec: AgentVmSpec): Promise<boolean> {
  for (let i = 0; i < nicsOf(spec).length; i++) {
    const dir = `/sys/class/net/${nicTap(spec.id, i)}`;
    const flags = await readFile(`${dir}/flags`, 'utf8').catch(() => '0');
    const bridged = await access(`${dir}/master`).then(
      () => true,
      () => false,
    );
    if ((parseInt(flags, 16) & 1) === 0 || !bridged) return false;
  }
  return true;
}

/** Labels a running VM's TAPs as this agent's (adopted ones may carry an older agent's label). */
export async function labelTaps(spec: AgentVmSpec, agent: string): Promise<void> {
  const lbl = label('vm', spec.id, agent);
  const lines = nicsOf(spec).map((_, i) => `link set dev ${nicTap(spec.id, i)} alias ${lbl}`);
  if (lines.length) await sh(['ip', '-batch', '-'], lines.join('\n') + '\n');
}

export async function deleteTaps(spec: AgentVmSpec): Promise<void> {
  const n = Math.max(1, nicsOf(spec).length);
  for (let i = 0; i < n; i++) {
    const name = nicTap(spec.id, i);
    if (await linkExists(name)) await sh(['ip', 'link', 'del', 'dev', name]).catch(() => undefined);
  }
}

const isDefault = (e: EgressPolicy | null) =>
  !e || (e.default === 'allow' && e.allow.length === 0 && e.deny.length === 0 && !e.domains?.length);

/**
 * The set in a VM's policy table that the DNS forwarders fill with the addresses of its allowed
 * domains as they resolve (dnsmasq `--nftset`, see dns-sets.ts). An address stays while the VM
 * opens connections to it and expires an hour after its last use; a new lookup adds it again.
 */
export const DNS_SET = 'dns_allow';
export const DNS_SET_TIMEOUT = '1h';

/** The firewall mark a VM's packets carry from its TAPs into the stateful chains. */
export const vmMark = (vmId: string) =>
  '0x' +
  (0x48000000 + parseInt(createHash('sha256').update(vmId).digest('hex').slice(0, 6), 16)).toString(16);

/**
 * The nft text of a VM's policy table, or null when it has no policy at all. Rate limits act at
 * the TAPs' ingress (stateless); the egress policy needs connection state (replies to inbound
 * connections and published ports must pass), so ingress only marks the VM's packets and the
 * `forward` and `input` chains judge them after conntrack. Bridged traffic reaches those chains
 * through br_netfilter, which the agent keeps on (see networks.ts).
 */
export function policyText(
  vmId: string,
  nics: AgentNic[],
  egress: EgressPolicy | null,
  bandwidthMbit: number | null,
  agent: string,
  /** Addresses already in the domain set: a replaced table keeps them (the forwarder's cache would not add them again). */
  dnsKeep: string[] = [],
): string | null {
  const policy = egress && !isDefault(egress) ? egress : null;
  if (!policy && !bandwidthMbit) return null;
  const t = policyTable(vmId);
  const mark = vmMark(vmId);
  // Its own networks always pass: subnets, gateways and DNS servers.
  const own = [
    ...new Set(
      nics
        .flatMap((n) => [n.network.cidr, n.network.gateway, n.gateway, ...n.dns])
        .filter((c): c is string => Boolean(c)),
    ),
  ];
  const set = (xs: string[]) => `{ ${xs.join(', ')} }`;
  const domains = policy?.domains?.length ? policy.domains : null;
  // Its DNS must go through the forwarders that fill the set: any other server would answer
  // names the policy does not allow, and a lookup there adds nothing.
  const forwarders = [
    ...new Set(
      nics.filter((n) => n.network.dnsForwarder && n.network.gateway).map((n) => n.network.gateway!),
    ),
  ];
  const out = [dropTablesText([['inet', t]]).trimEnd(), `table inet ${t} {`];
  out.push(`  comment "${label('vm', vmId, agent)}"`);
  if (domains) {
    out.push(
      `  set ${DNS_SET} {`,
      `    type ipv4_addr; flags dynamic, timeout; timeout ${DNS_SET_TIMEOUT};`,
      ...(dnsKeep.length ? [`    elements = ${set(dnsKeep)}`] : []),
      `  }`,
    );
  }
  nics.forEach((_, i) => {
    out.push(
      `  chain nic${i} {`,
      `    type filter hook ingress device "${nicTap(vmId, i)}" priority filter; policy accept;`,
    );
    if (bandwidthMbit) {
      const kbytes = Math.round((bandwidthMbit * 1_000_000) / 8 / 1024);
      out.push(
        `    limit rate over ${kbytes} kbytes/second burst ${Math.max(64, Math.ceil(kbytes / 10))} kbytes drop`,
      );
    }
    if (policy) out.push(`    meta mark set ${mark}`);
    out.push(`  }`);
  });
  if (policy) {
    const rules = [
      `    meta mark != ${mark} return`,
      `    ct state established,related accept`,
      ...(domains
        ? [
            `    ${forwarders.length ? `ip daddr != ${set(forwarders)} ` : ''}meta l4proto { tcp, udp } th dport { 53, 853 } drop`,
          ]
        : []),
      ...(own.length ? [`    ip daddr ${set(own)} accept`] : []),
      // DHCP by broadcast; to a server on its own subnet it passed above. Anywhere else, port 67
      // is just a port (a VPN listening there would be a way out).
      `    ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept`,
      ...(policy.deny.length ? [`    ip daddr ${set(policy.deny)} drop`] : []),
      ...(policy.allow.length ? [`    ip daddr ${set(policy.allow)} accept`] : []),
      // Each new connection keeps the address for another period.
      ...(domains ? [`    ip daddr @${DNS_SET} update @${DNS_SET} { ip daddr } accept`] : []),
      // Policies speak IPv4; IPv6 would be a way around them.
      `    meta nfproto ipv6 drop`,
      ...(policy.default === 'deny' ? [`    drop`] : []),
    ];
    out.push(
      `  chain through {`,
      `    type filter hook forward priority filter; policy accept;`,
      ...rules,
      `  }`,
      `  chain tohost {`,
      `    type filter hook input priority filter; policy accept;`,
      ...rules,
      `  }`,
    );
  }
  out.push(`}`);
  return out.join('\n') + '\n';
}

/** The anti-spoofing table of a VM's TAPs (see guardText): each NIC's MAC and managed address. */
export function vmGuardText(spec: AgentVmSpec, agent: string): string {
  const taps = nicsOf(spec).map((n, i) => ({ device: nicTap(spec.id, i), mac: n.mac, ip: n.ip }));
  return guardText(spec.id, taps, label('vm', spec.id, agent));
}

/**
 * Applies (or replaces, atomically) the VM's anti-spoofing guard, egress policy and rate limits
 * on its TAPs, in one `nft` run.
 */
export async function applyPolicy(
  spec: AgentVmSpec,
  agent: string,
  o: { fresh?: boolean; dropDnsSet?: boolean } = {},
): Promise<void> {
  const nics = nicsOf(spec);
  // A changed list starts empty: an address of a name no longer allowed must not stay.
  const keep =
    spec.egress?.domains?.length && !o.fresh && !o.dropDnsSet ? await dnsSetAddresses(spec.id) : [];
  const text = policyText(spec.id, nics, spec.egress ?? null, spec.bandwidthMbit ?? null, agent, keep);
  // Fresh TAPs have no qdisc, and no policy table is bound to them: nothing to remove on the boot path.
  const policy = text ?? (o.fresh ? '' : dropTablesText(policyTables(spec.id)));
  if (nics.length) await sh(['nft', '-f', '-'], vmGuardText(spec, agent) + policy);
  if (o.fresh && !spec.bandwidthMbit) return;
  for (let i = 0; i < nics.length; i++) {
    const dev = nicTap(spec.id, i);
    if (spec.bandwidthMbit) {
      const burst = Math.max(32 * 1024, Math.round((spec.bandwidthMbit * 125_000) / 100));
      await sh([
        'tc',
        'qdisc',
        'replace',
        'dev',
        dev,
        'root',
        'tbf',
        'rate',
        `${spec.bandwidthMbit}mbit`,
        'burst',
        String(burst),
        'latency',
        '50ms',
      ]);
    } else {
      await sh(['tc', 'qdisc', 'del', 'dev', dev, 'root']).catch(() => undefined);
    }
  }
}

/** The addresses in a VM's domain set now ([] when it has none). */
async function dnsSetAddresses(vmId: string): Promise<string[]> {
  const text = await sh(['nft', 'list', 'set', 'inet', policyTable(vmId), DNS_SET]).catch(() => '');
  const elements = /elements = \{([^}]*)\}/.exec(text)?.[1] ?? '';
  return [...new Set(elements.match(/\b\d{1,3}(\.\d{1,3}){3}\b/g) ?? [])];
}

/** The policy table, and the netdev one agents made before the policy moved to the inet family. */
const policyTables = (vmId: string): [family: 'inet' | 'netdev', name: string][] => [
  ['inet', policyTable(vmId)],
  ['netdev', policyTable(vmId)],
];

/** Removes the VM's policy and anti-spoofing tables. */
export async function removePolicy(vmId: string): Promise<void> {
  await sh(['nft', '-f', '-'], dropTablesText([...policyTables(vmId), ['netdev', guardTable(vmId)]])).catch(
    () => undefined,
  );
}
