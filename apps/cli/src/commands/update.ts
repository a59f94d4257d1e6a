import type { Command } from 'commander';
import type { PatchVmBody } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';
import { commaList, parseBandwidth, parsePublishPorts, parseTimeout, vmsanEgress } from '../vmsan-flags.ts';
import { act, parsePublish, summary } from './vm.ts';
import { num, parseEgress } from './network.ts';

/**
 * `hearth update <vm>`: Hearth's own flags and, as on `hearth create`, vmsan's where they make
 * sense for a VM that exists (`--publish-port`, `--network-policy` with its lists, `--bandwidth
 * 50mbit`, `--timeout 2h30m`, `--silent`). vmsan's `--disk` is not taken: a VM's disk is not
 * resized by an update. vmsan's policy flags describe the whole egress policy, as at create.
 */
export function updateCommand(program: Command): void {
  program
    .command('update <vm>')
    .description(
      'Change a VM: published ports, egress policy, bandwidth, timeout (live), name, size (stopped)',
    )
    .option('--name <name>', 'new name')
    .option('--vcpus <n>', 'virtual CPUs (VM stopped)', num('--vcpus'))
    .option('--memory <mib>', 'memory in MiB (VM stopped)', num('--memory'))
    .option('--publish <ports...>', 'replace published ports HOST:GUEST[/udp]; --publish none clears')
    .option(
      '--publish-port <ports>',
      'replace published ports: guest port N on host port N, e.g. 8080,3000',
      commaList,
    )
    .option('--egress <default>', 'allow or deny what no list names')
    .option('--allow <cidr...>', 'destinations always allowed (replaces the list; --allow none clears)')
    .option('--deny <cidr...>', 'destinations always denied (replaces the list; --deny none clears)')
    .option(
      '--network-policy <policy>',
      'replace the egress policy: allow-all, deny-all or custom (with the lists below)',
    )
    .option(
      '--allowed-domain <names>',
      'egress: names allowed as they resolve, e.g. a.com,*.b.com',
      commaList,
    )
    .option('--allowed-cidr <cidrs>', 'egress: destinations allowed (comma-separated CIDRs)', commaList)
    .option(
      '--denied-cidr <cidrs>',
      'egress: destinations denied, over any allow (comma-separated CIDRs)',
      commaList,
    )
    .option(
      '--bandwidth <rate>',
      'rate limit per NIC, e.g. 50mbit or 1gbit (a bare number is Mbit/s), or none',
    )
    .option('--timeout <duration>', 'stop automatically this long after the start, e.g. 2h30m, or none')
    .option('--disk <size>', 'not taken: a VM disk is not resized by an update')
    .option('--silent', 'print nothing on success (errors still go to stderr)')
    .action(
      act(program, async (c, json, id: string, o: Record<string, unknown>) => {
        if (o.disk !== undefined) {
          throw new UsageError(
            '--disk is taken by hearth create only: an existing VM disk is not resized (create a new VM with --disk).',
          );
        }
        const bw = o.bandwidth as string | undefined;
        const t = o.timeout as string | undefined;
        const body: PatchVmBody = Object.fromEntries(
          Object.entries({
            name: o.name,
            vcpus: o.vcpus,
            memoryMib: o.memory,
            ports: portsOf(o),
            egress: await egressOf(c, id, o),
            bandwidthMbit: bw === undefined ? undefined : bw === 'none' ? null : parseBandwidth(bw),
            timeout: t === undefined ? undefined : t === 'none' ? null : parseTimeout(t),
          }).filter(([, v]) => v !== undefined),
        );
        const vm = await c.call('patchVm', { params: { id }, body });
        if (o.silent) return;
        if (json) return printJson(vm);
        console.log(summary(vm));
      }),
    );
}

/** --publish and --publish-port together replace the VM's ports; `--publish none` clears them. */
function portsOf(o: Record<string, unknown>) {
  const pub = o.publish as string[] | undefined;
  const same = o.publishPort as string[] | undefined;
  if (pub === undefined && same === undefined) return undefined;
  if (pub?.length === 1 && pub[0] === 'none') {
    if (same?.length) throw new UsageError('--publish none clears the ports: it takes no --publish-port.');
    return [];
  }
  return [...(pub ? parsePublish(pub) : []), ...(same ? parsePublishPorts(same) : [])];
}

/**
 * vmsan's policy flags replace the whole egress policy; Hearth's keep what is not given (`--allow
 * X` alone never opens a VM whose default is deny). Not both spellings at once.
 */
async function egressOf(c: HearthClient, id: string, o: Record<string, unknown>) {
  const vmsan = vmsanEgress({
    networkPolicy: o.networkPolicy as string | undefined,
    allowedDomain: o.allowedDomain as string[] | undefined,
    allowedCidr: o.allowedCidr as string[] | undefined,
    deniedCidr: o.deniedCidr as string[] | undefined,
  });
  const own = o.egress !== undefined || o.allow !== undefined || o.deny !== undefined;
  if (vmsan && own) {
    throw new UsageError(
      'Use either --egress/--allow/--deny or --network-policy/--allowed-domain/--allowed-cidr/--denied-cidr, not both.',
    );
  }
  if (vmsan) return vmsan;
  if (o.egress === undefined && own)
    return parseEgress(o, (await c.call('getVm', { params: { id } })).egress);
  return parseEgress(o);
}
