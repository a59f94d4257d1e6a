import type { AgentNetwork } from '@hearth/contract';
import { dropTablesText, natTable } from '../net.ts';

/** Cloud instance metadata lives in IPv4 link-local space; guests reach it through the host unless stopped. */
export const METADATA_RANGE = '169.254.0.0/16';

/**
 * The nft text of a network's table, `inet hearth_<bridge>`.
 *
 * `forward`: VMs on the bridge talk freely; into a NAT network only replies and published ports
 * enter; other bridges are never routed; the metadata range is dropped unless the network opts in
 * (on bridged networks too: a cloud LAN answers it).
 *
 * `input`, what guests may ask of the host itself: on a NAT bridge DNS and DHCP to the gateway
 * (DHCP also as broadcast), ping to the gateway and replies to connections the host made;
 * nothing else, IPv6 link-local included (the chain is `inet`), so the agent's port, the
 * manager's and any other service bound to a wildcard address stay out of reach. On bridges
 * without a host address nothing at all.
 *
 * VXLAN: encapsulated frames of this network's VNI are taken only from the other hosts' underlay
 * addresses; anyone else on the underlay could otherwise inject frames into the segment.
 *
 * NAT: masquerade for the subnet. `label` names the network and this host (start-up sweeps by it).
 */
export function networkRulesText(n: AgentNetwork, label: string): string {
  const t = natTable(n.bridge);
  const br = `"${n.bridge}"`;
  const lines = [
    // Agents before this one kept an `ip` table of the same name: replaced, never doubled.
    dropTablesText([
      ['ip', t],
      ['inet', t],
    ]).trimEnd(),
    `table inet ${t} {`,
    `  comment "${label}"`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
  ];
  if (!n.allowMetadata && (n.mode === 'nat' || n.mode === 'bridged')) {
    lines.push(`    iifname ${br} ip daddr ${METADATA_RANGE} drop`);
  }
  lines.push(`    iifname ${br} oifname ${br} accept`);
  if (n.mode === 'nat') {
    lines.push(
      `    oifname ${br} ct state established,related accept`,
      `    oifname ${br} ct status dnat accept`,
      `    oifname ${br} drop`,
    );
  } else {
    lines.push(`    oifname ${br} drop`, `    iifname ${br} drop`);
  }
  lines.push(`  }`, `  chain input {`, `    type filter hook input priority filter; policy accept;`);
  if (n.mode === 'vxlan' && n.vxlan) {
    const v = n.vxlan;
    // The VNI sits 4 bytes into the VXLAN header, after the 8-byte UDP header: bits 96–119.
    const ours = `udp dport ${v.port} @th,96,24 ${v.vni}`;
    lines.push(
      v.remotes.length ? `    ${ours} ip saddr != { ${v.remotes.join(', ')} } drop` : `    ${ours} drop`,
    );
  }
  if (n.mode === 'nat' && n.gateway) {
    const gw = n.gateway;
    lines.push(
      `    iifname ${br} ct state established,related accept`,
      `    iifname ${br} ip daddr { ${gw}, 255.255.255.255 } udp sport 68 udp dport 67 accept`,
      `    iifname ${br} ip daddr ${gw} meta l4proto { tcp, udp } th dport 53 accept`,
      `    iifname ${br} ip daddr ${gw} icmp type echo-request accept`,
    );
  }
  lines.push(`    iifname ${br} drop`, `  }`);
  if (n.mode === 'nat' && n.cidr) {
    lines.push(
      `  chain postrouting {`,
      `    type nat hook postrouting priority srcnat; policy accept;`,
      `    ip saddr ${n.cidr} ip daddr != ${n.cidr} masquerade`,
      `  }`,
    );
  }
  lines.push(`}`);
  return lines.join('\n') + '\n';
}
