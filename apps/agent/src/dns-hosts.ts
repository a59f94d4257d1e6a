import { rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DNS_HOSTNAME_RE, type AgentVmSpec } from '@hearth/contract';
import { dnsHostsFile, reloadDns, setDnsSetArgs } from './dns.ts';
import { nftsetArgs } from './dns-sets.ts';
import { nicsOf } from './vm-net.ts';

/**
 * The names each network's DNS forwarder answers: one hosts file per bridge with a forwarder,
 * listing every VM of this host that runs on it. The manager decides the names (a VM's own, its
 * aliases; on a shared network qualified by project); this file only lays them out, lets a VM's
 * own name win over another VM's alias, and keeps the file in step with the VMs that run.
 */

/** One address on a network and the names published for it. */
export interface HostsEntry {
  ip: string;
  /** The VM's own names on that network. */
  names: readonly string[];
  /** Extra names; dropped where they are some VM's own name on the network. */
  aliases: readonly string[];
}

/** A VM as the hosts files see it: its spec, and whether its VMM runs (stopped VMs resolve no more). */
export interface HostsVm {
  spec: AgentVmSpec;
  running: boolean;
}

const octets = (ip: string): number[] => ip.split('.').map(Number);

function byAddress(a: HostsEntry, b: HostsEntry): number {
  const x = octets(a.ip);
  const y = octets(b.ip);
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * A hosts file's text: one line per address, the first name being the one reverse lookups give.
 * Names that are not DNS names (a spec written by hand, an older manager) are left out, so
 * nothing but `address name…` lines ever reaches the file. The same alias on several VMs gives
 * each address (answered in turn, as aliases shared by containers are).
 */
export function renderHosts(entries: readonly HostsEntry[]): string {
  const valid = (n: string) => n.length <= 253 && DNS_HOSTNAME_RE.test(n);
  const own = new Set(entries.flatMap((e) => e.names));
  const lines: string[] = [];
  for (const e of [...entries].sort(byAddress)) {
    const names = [...new Set([...e.names, ...e.aliases.filter((a) => !own.has(a))])];
    const shown = names.filter(valid);
    if (shown.length) lines.push(`${e.ip} ${shown.join(' ')}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * Every bridge with a DNS forwarder that some VM of this host is attached to, with the text of
 * its hosts file: the running VMs' static addresses there (an empty file where none runs).
 */
export function hostsByBridge(vms: Iterable<HostsVm>): Map<string, string> {
  const entries = new Map<string, HostsEntry[]>();
  for (const { spec, running } of vms) {
    for (const nic of nicsOf(spec)) {
      if (!nic.network.dnsForwarder) continue;
      const list = entries.get(nic.network.bridge) ?? [];
      entries.set(nic.network.bridge, list);
      if (running && nic.ip)
        list.push({ ip: nic.ip, names: nic.dnsNames ?? [], aliases: nic.dnsAliases ?? [] });
    }
  }
  return new Map([...entries].map(([bridge, list]) => [bridge, renderHosts(list)]));
}

export interface DnsHostsOptions {
  log: Logger;
  /** Where a bridge's hosts file is (default: next to its forwarder's pid file). */
  fileFor?: (bridge: string) => string;
  /** Makes the bridge's forwarder re-read the file (default: SIGHUP to it, if it runs). */
  reload?: (bridge: string) => Promise<unknown>;
  /** Gives the bridge's forwarder its domain-set options (default: `setDnsSetArgs`). */
  setSets?: (bridge: string, args: string[]) => Promise<unknown>;
}

/**
 * Keeps the hosts files in step: `sync` writes each file whose text changed (atomically, by
 * rename, so the forwarder never reads half a file) and has its forwarder re-read it. A bridge
 * written earlier that no VM of this host uses any more is emptied once. Syncs run one at a time, each from the
 * VMs as they are when it runs; a failure is logged, never thrown (a VM's stop must not fail
 * over its name).
 */
export class DnsHosts {
  private readonly written = new Map<string, string>();
  /** Bridges whose forwarder was given domain-set options. */
  private readonly setsFor = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private readonly fileFor: (bridge: string) => string;
  private readonly reload: (bridge: string) => Promise<unknown>;
  private readonly setSets: (bridge: string, args: string[]) => Promise<unknown>;

  constructor(private readonly o: DnsHostsOptions) {
    this.fileFor = o.fileFor ?? dnsHostsFile;
    this.reload = o.reload ?? reloadDns;
    this.setSets = o.setSets ?? setDnsSetArgs;
  }

  sync(vms: () => Iterable<HostsVm>): Promise<void> {
    const run = this.queue.then(async () => {
      const list = [...vms()];
      await this.apply(hostsByBridge(list));
      await this.applySets(nftsetArgs(list));
    });
    this.queue = run;
    return run;
  }

  /** The forwarders' domain-set options (dns-sets.ts); a bridge no VM uses any more gets none. */
  private async applySets(want: Map<string, string[]>): Promise<void> {
    for (const bridge of this.setsFor) if (!want.has(bridge)) want.set(bridge, []);
    for (const [bridge, args] of want) {
      if (!args.length && !this.setsFor.has(bridge)) continue;
      try {
        await this.setSets(bridge, args);
        if (args.length) this.setsFor.add(bridge);
        else this.setsFor.delete(bridge);
      } catch (e) {
        this.o.log.warn({ bridge, err: (e as Error).message }, 'updating the DNS domain sets failed');
      }
    }
  }

  private async apply(want: Map<string, string>): Promise<void> {
    const gone = [...this.written.keys()].filter((b) => !want.has(b));
    for (const bridge of gone) want.set(bridge, '');
    for (const [bridge, text] of want) {
      if (this.written.get(bridge) === text) continue;
      try {
        const file = this.fileFor(bridge);
        await writeFile(`${file}.tmp`, text, { mode: 0o644 });
        await rename(`${file}.tmp`, file);
        this.written.set(bridge, text);
        await this.reload(bridge);
        this.o.log.debug({ bridge, lines: text.split('\n').length - 1 }, 'DNS names updated');
        // Emptied for good: the network's teardown removes the file, nothing here writes it again.
        if (gone.includes(bridge)) this.written.delete(bridge);
      } catch (e) {
        this.o.log.warn({ bridge, err: (e as Error).message }, 'updating the DNS names failed');
      }
    }
  }
}
