import type { Command } from 'commander';
import type { EgressPolicy, Network, NicRequest } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { UsageError } from '../config.ts';
import { act, parsePublish, summary } from './vm.ts';

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
  };
}

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} ${v} is not a whole number.`);
  return n;
};

/** `hearth network create|ls|inspect|leases|rm` and `hearth update <vm>` */
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

  program
    .command('update <vm>')
    .description('Change a VM: published ports, egress policy, bandwidth (live), name, size (stopped)')
    .option('--name <name>', 'new name')
    .option('--vcpus <n>', 'virtual CPUs (VM stopped)', num('--vcpus'))
    .option('--memory <mib>', 'memory in MiB (VM stopped)', num('--memory'))
    .option('--publish <ports...>', 'replace published ports HOST:GUEST[/udp]; --publish none clears')
    .option('--egress <default>', 'allow or deny what no list names')
    .option('--allow <cidr...>', 'destinations always allowed (replaces the list; --allow none clears)')
    .option('--deny <cidr...>', 'destinations always denied (replaces the list; --deny none clears)')
    .option('--bandwidth <mbit>', 'rate limit per NIC in Mbit/s, or none')
    .action(
      act(program, async (c, json, id: string, o: Record<string, unknown>) => {
        const pub = o.publish as string[] | undefined;
        const bw = o.bandwidth as string | undefined;
        if (bw !== undefined && bw !== 'none' && !/^\d+$/.test(bw))
          throw new UsageError(`--bandwidth ${bw} must be a number of Mbit/s or none.`);
        const body = Object.fromEntries(
          Object.entries({
            name: o.name,
            vcpus: o.vcpus,
            memoryMib: o.memory,
            ports: pub ? (pub.length === 1 && pub[0] === 'none' ? [] : parsePublish(pub)) : undefined,
            egress:
              o.egress === undefined && (o.allow !== undefined || o.deny !== undefined)
                ? parseEgress(o, (await c.call('getVm', { params: { id } })).egress)
                : parseEgress(o),
            bandwidthMbit: bw === undefined ? undefined : bw === 'none' ? null : Number(bw),
          }).filter(([, v]) => v !== undefined),
        );
        const vm = await c.call('patchVm', { params: { id }, body: body as never });
        if (json) return printJson(vm);
        console.log(summary(vm));
      }),
    );
}
