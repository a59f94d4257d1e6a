import type { Command } from 'commander';
import type { EgressPolicy, Network, NicRequest } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';

const line = (n: Network) =>
  `network ${n.name} (${n.id}): ${n.mode}${n.cidr ? ` ${n.cidr}` : ' DHCP'}${n.vni ? ` vni ${n.vni}` : ''}${n.interface ? ` on ${n.interface}` : ''}${n.vlan ? ` vlan ${n.vlan}` : ''}${n.allowMetadata ? ', metadata allowed' : ''}, bridge ${n.bridge}`;

/** --network NAME or NAME=IP, repeatable: one NIC each, in order. */
export function parseNetworks(items: string[]): NicRequest[] {
  return items.map((item) => {
    const [network, ip] = item.split('=');
    if (!network) throw new UsageError(`--network ${item} must look like NAME or NAME=IP.`);
    return ip ? { network, ip } : network;
  });
}

/**
 * --egress allow|deny with --allow/--deny CIDR lists; undefined when none of them was given.
 * With `current` (update), what is not given is kept: `--allow X` alone never opens a VM whose
 * default is deny.
 */
export function parseEgress(o: Record<string, unknown>, current?: EgressPolicy): EgressPolicy | undefined {
  if (o.egress === undefined && o.allow === undefined && o.deny === undefined) return undefined;
  const def = (o.egress as string | undefined) ?? current?.default ?? 'allow';
  if (def !== 'allow' && def !== 'deny') throw new UsageError(`--egress ${def} must be allow or deny.`);
  const list = (x: unknown) => {
    const v = x as string[] | undefined;
    return v && v.length === 1 && v[0] === 'none' ? [] : v;
  };
  return {
    default: def,
    allow: list(o.allow) ?? current?.allow ?? [],
    deny: list(o.deny) ?? current?.deny ?? [],
    // These flags do not touch the domain list: an update keeps it.
    ...(current?.domains ? { domains: current.domains } : {}),
  };
}

export const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} ${v} is not a whole number.`);
  return n;
};

/** `hearth network create|ls|inspect|leases|rm` */
export function networkCommands(program: Command): void {
  const net = program.command('network').description('Networks VMs attach to: nat, isolated, bridged, vxlan');
  net
    .command('create <name>')
    .description('Create a network')
    .option('--mode <mode>', 'nat, isolated, bridged or vxlan', 'nat')
    .option('--cidr <cidr>', 'subnet, e.g. 10.30.0.0/24 (bridged: omit for DHCP from the LAN)')
    .option('--gateway <ip>', 'gateway address (nat: default the first address)')
    .option('--dns <ip...>', 'DNS servers for guests')
    .option('--interface <ifname>', 'bridged: host interface to bridge onto')
    .option('--vlan <id>', 'bridged: 802.1Q VLAN id', num('--vlan'))
    .option('--vni <id>', 'vxlan: VXLAN network identifier', num('--vni'))
    .option('--port <port>', 'vxlan: UDP port (default 4789)', num('--port'))
    .option(
      '--allow-metadata',
      'let guests reach 169.254.0.0/16 (cloud instance metadata), blocked by default',
    )
    .action(
      act(program, async (c, json, name: string, o: Record<string, unknown>) => {
        const body = Object.fromEntries(
          Object.entries({
            name,
            mode: o.mode,
            cidr: o.cidr,
            gateway: o.gateway,
            dns: o.dns,
            interface: o.interface,
            vlan: o.vlan,
            vni: o.vni,
            port: o.port,
            allowMetadata: o.allowMetadata,
          }).filter(([, v]) => v !== undefined),
        );
        const n = await c.call('createNetwork', { body: body as never });
        if (json) return printJson(n);
        console.log(`created: ${line(n)}`);
      }),
    );
  net
    .command('list')
    .alias('ls')
    .description('List networks')
    .action(
      act(program, async (c, json) => {
        const items = await c.all('listNetworks');
        if (json) return printJson(items);
        console.log(
          table(
            ['NAME', 'ID', 'MODE', 'CIDR', 'GATEWAY', 'BRIDGE', 'VMS', 'EXTRA'],
            items.map((n) => [
              n.name + (n.isDefault ? ' (default)' : ''),
              n.id,
              n.mode,
              n.cidr ?? 'DHCP',
              n.gateway ?? '-',
              n.bridge,
              String(n.vmCount),
              [n.interface && `if ${n.interface}`, n.vlan && `vlan ${n.vlan}`, n.vni && `vni ${n.vni}`]
                .filter(Boolean)
                .join(' ') || '-',
            ]),
          ),
        );
      }),
    );
  net
    .command('inspect <network>')
    .description('Show one network')
    .action(
      act(program, async (c, _json, id: string) => printJson(await c.call('getNetwork', { params: { id } }))),
    );
  net
    .command('leases <network>')
    .description("The network's addresses in use")
    .action(
      act(program, async (c, json, id: string) => {
        const { items } = await c.call('listLeases', { params: { id } });
        if (json) return printJson(items);
        console.log(
          items.length
            ? table(
                ['VM', 'NIC', 'MAC', 'IP', 'SOURCE'],
                items.map((l) => [l.vmName, String(l.nic), l.mac, l.ip ?? '(waiting for DHCP)', l.source]),
              )
            : 'No leases.',
        );
      }),
    );
  net
    .command('rm <network>')
    .alias('delete')
    .description('Delete a network (refused while VMs use it)')
    .action(
      act(program, async (c, json, id: string) => {
        const n = await c.call('deleteNetwork', { params: { id } });
        if (json) return printJson(n);
        console.log(`deleted: ${line(n)}`);
      }),
    );
}
