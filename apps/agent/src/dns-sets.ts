import { nicsOf, policyTable, DNS_SET } from './vm-net.ts';
import type { HostsVm } from './dns-hosts.ts';

/**
 * Domain allow-lists, as the DNS forwarders carry them out: for each bridge with a forwarder, the
 * dnsmasq options that add the addresses of a running VM's allowed names to the set in that VM's
 * policy table (vm-net.ts) as the names resolve. dnsmasq matches a name and every name under it,
 * so `example.com` also admits `www.example.com`, and `*.example.com` also `example.com` itself.
 * dnsmasq adds only when an answer comes from upstream, never from its cache: answers that clients
 * and the cache hold are capped at five minutes, so names in use are asked upstream again well
 * within the hour a set keeps an address after its last use.
 */
export const DNS_MAX_TTL = 300;

export function nftsetArgs(vms: Iterable<HostsVm>): Map<string, string[]> {
  const byBridge = new Map<string, Map<string, Set<string>>>();
  for (const { spec, running } of vms) {
    for (const nic of nicsOf(spec)) {
      if (!nic.network.dnsForwarder) continue;
      const patterns = byBridge.get(nic.network.bridge) ?? new Map<string, Set<string>>();
      byBridge.set(nic.network.bridge, patterns);
      const e = spec.egress;
      if (!running || !e || e.default !== 'deny' || !e.domains?.length) continue;
      for (const d of e.domains) {
        const name = d.startsWith('*.') ? d.slice(2) : d;
        const sets = patterns.get(name) ?? new Set<string>();
        patterns.set(name, sets);
        sets.add(`4#inet#${policyTable(spec.id)}#${DNS_SET}`);
      }
    }
  }
  const out = new Map<string, string[]>();
  for (const [bridge, patterns] of byBridge) {
    // dnsmasq applies only the most specific match: a name under another VM's allowed name must
    // fill that VM's set too.
    const under = (name: string, parent: string) => name === parent || name.endsWith(`.${parent}`);
    const lines = [...patterns.keys()].sort().map((name) => {
      const sets = [...patterns].filter(([p]) => under(name, p)).flatMap(([, s]) => [...s]);
      return `--nftset=/${name}/${[...new Set(sets)].sort().join(',')}`;
    });
    out.set(
      bridge,
      lines.length ? [...lines, `--max-ttl=${DNS_MAX_TTL}`, `--max-cache-ttl=${DNS_MAX_TTL}`] : [],
    );
  }
  return out;
}
