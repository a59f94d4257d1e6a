import type { Command } from 'commander';
import { PoolMode, type CreatePoolBody } from '@hearth/contract';
import { UsageError } from '../usage-error.ts';
import { printJson } from '../output.ts';
import { poolDetails, poolTable } from '../vm-text.ts';
import { act } from './vm.ts';

const whole = (flag: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} ${v} is not a whole number.`);
  return Number(v);
};

/** `hearth pool create|ls|show|resize|rm`: warm pools, VMs booted ahead of time for `create --pool`. */
export function poolCommands(program: Command): void {
  const pool = program.command('pool').description('Warm pools: VMs booted ahead of time');
  pool
    .command('create <name>')
    .description('Create a warm pool; it fills itself to --size in the background')
    .option('--size <n>', 'VMs to keep ready (0-64)', whole('--size'), 1)
    .option(
      '--mode <mode>',
      'booted (each VM boots) or snapshot (one VM boots, the others are restored from its snapshot)',
      'booted',
    )
    .option('--template <template>', 'a template whose spec is the base; the flags below override it')
    .option('--image <image>', 'rootfs image id or name (default: base)')
    .option('--vcpus <n>', 'virtual CPUs', whole('--vcpus'))
    .option('--memory <mib>', 'memory in MiB', whole('--memory'))
    .option('--network <net>', 'the network of the NIC (default: the NAT network)')
    .action(
      act(program, async (c, json, name: string, o: Record<string, unknown>) => {
        const mode = PoolMode.safeParse(o.mode);
        if (!mode.success)
          throw new UsageError(`--mode ${String(o.mode)} is unknown; use booted or snapshot.`);
        const spec = Object.fromEntries(
          Object.entries({
            template: o.template,
            image: o.image,
            vcpus: o.vcpus,
            memoryMib: o.memory,
            network: o.network,
          }).filter(([, v]) => v !== undefined),
        ) as CreatePoolBody['spec'];
        const p = await c.call('createPool', {
          body: { name, mode: mode.data, size: o.size as number, spec, project: c.project ?? undefined },
        });
        if (json) return printJson(p);
        console.log(`pool ${p.name} (${p.id}) created: ${p.mode}, filling to ${p.size} in the background`);
      }),
    );
  pool
    .command('list')
    .alias('ls')
    .description('List warm pools with their ready counts and hit rates')
    .action(
      act(program, async (c, json) => {
        const items = await c.all('listPools', { project: c.project ?? undefined });
        if (json) return printJson(items);
        console.log(
          items.length
            ? poolTable(items)
            : 'No pools yet. Create one with `hearth pool create <name> --size 2`.',
        );
      }),
    );
  pool
    .command('show <pool>')
    .alias('inspect')
    .description('Show one pool')
    .action(
      act(program, async (c, json, id: string) => {
        const p = await c.call('getPool', { params: { id } });
        if (json) return printJson(p);
        console.log(poolDetails(p));
      }),
    );
  pool
    .command('resize <pool> <size>')
    .description('Change how many VMs the pool keeps ready')
    .action(
      act(program, async (c, json, id: string, size: string) => {
        const p = await c.call('patchPool', { params: { id }, body: { size: whole('size')(size) } });
        if (json) return printJson(p);
        console.log(`pool ${p.name}: size ${p.size} (${p.ready} ready, ${p.warming} warming)`);
      }),
    );
  pool
    .command('rm <pool>')
    .alias('delete')
    .description('Delete a pool and the VMs waiting in it (VMs handed out stay)')
    .action(
      act(program, async (c, json, id: string) => {
        const p = await c.call('deletePool', { params: { id } });
        if (json) return printJson(p);
        console.log(`deleted pool ${p.name} (${p.id})`);
      }),
    );
}
