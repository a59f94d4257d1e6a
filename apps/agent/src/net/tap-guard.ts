import { createHash } from 'node:crypto';

/** nftables table (netdev family: it sees ARP) holding a VM's anti-spoofing chains, one per TAP. */
export const guardTable = (vmId: string) =>
  'hearth_sg_' + createHash('sha256').update(vmId).digest('hex').slice(0, 12);

export interface GuardedTap {
  /** The TAP (or, in tests, any link standing in for it) the VM's frames arrive on. */
  device: string;
  mac: string;
  /** The address the platform gave this NIC; null for a DHCP NIC, whose address is not known here. */
  ip: string | null;
}

/**
 * The nft text of a VM's anti-spoofing table: at each TAP's ingress, before the frame meets the
 * bridge, a guest may only send
 * - frames from its own MAC, and only ARP, IPv4 and IPv6;
 * - ARP whose sender is its own MAC and its own address (0.0.0.0 for address probes), so that it
 *   cannot answer for the gateway or for another VM;
 * - IPv4 from its own address, or from 0.0.0.0 to DHCP (a DHCP NIC's source is not checked:
 *   the platform does not know its address);
 * - IPv6 from link-local or unspecified sources only (the platform gives guests no other), and
 *   no router advertisements;
 * - no DHCP or DHCPv6 server replies (rogue servers).
 */
export function guardText(vmId: string, taps: GuardedTap[], label: string): string {
  const t = guardTable(vmId);
  const out = [`table netdev ${t} {}`, `delete table netdev ${t}`, `table netdev ${t} {`];
  out.push(`  comment "${label}"`);
  taps.forEach((tap, i) => {
    out.push(
      `  chain nic${i} {`,
      `    type filter hook ingress device "${tap.device}" priority -500; policy drop;`,
      `    ether saddr != ${tap.mac} drop`,
      `    ether type arp arp saddr ether != ${tap.mac} drop`,
    );
    if (tap.ip) out.push(`    ether type arp arp saddr ip != { ${tap.ip}, 0.0.0.0 } drop`);
    out.push(`    ether type arp accept`);
    if (tap.ip) {
      out.push(`    ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept`, `    ip saddr != ${tap.ip} drop`);
    }
    out.push(
      `    udp sport 67 drop`,
      `    ether type ip accept`,
      `    ip6 saddr != { ::, fe80::/10 } drop`,
      `    icmpv6 type nd-router-advert drop`,
      `    udp sport 547 drop`,
      `    ether type ip6 accept`,
      `  }`,
    );
  });
  out.push(`}`);
  return out.join('\n') + '\n';
}
