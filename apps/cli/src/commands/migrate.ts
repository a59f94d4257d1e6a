import type { Command } from 'commander';
import type { HearthClient } from '@hearth/sdk';
import type { Host, Vm } from '@hearth/contract';
import { printJson } from '../output.ts';
import { act } from './vm.ts';

function describeMove(vm: Vm): string {
  const m = vm.lastMigration;
  if (!m) return `VM ${vm.name} is on ${vm.host}`;
  const down = m.downtimeMs === null ? '' : `, downtime ${m.downtimeMs} ms`;
  return `migrated ${vm.name} to ${vm.host} (${m.mode}${down}, total ${m.totalMs} ms)`;
}

async function migrate(c: HearthClient, json: boolean, id: string, o: { to?: string }): Promise<void> {
  const vm = await c.call('migrateVm', { params: { id }, body: o.to ? { toHost: o.to } : {} });
  if (json) return printJson(vm);
  console.log(describeMove(vm));
}

/** `hearth migrate VM [--to HOST]` (also `hearth vm migrate`) and `hearth host drain HOST`. */
export function migrateCommands(program: Command): void {
  const describe = 'Move a VM to another host: live when running (QEMU), cold when stopped';
  program
    .command('migrate <vm>')
    .description(describe)
    .option('--to <host>', 'destination host (default: placement picks one)')
    .action(act(program, migrate));
  const vm = program.commands.find((x) => x.name() === 'vm');
  vm?.command('migrate <vm>')
    .description(describe)
    .option('--to <host>', 'destination host (default: placement picks one)')
    .action(act(program, migrate));
  const host = program.commands.find((x) => x.name() === 'host');
  host
    ?.command('drain <host>')
    .description('Cordon the host and move every VM off it (running ones live, stopped ones cold)')
    .option('--no-wait', 'answer at once; progress is in `hearth host get HOST`')
    .action(
      act(program, async (c, json, id: string, o: { wait: boolean }) => {
        let h: Host = await c.call('drainHost', { params: { id } });
        const seen = new Map<string, string>();
        const report = () => {
          for (const v of h.drain?.vms ?? []) {
            const line = `${v.name}: ${v.status}${v.to ? ` → ${v.to}` : ''}${v.mode ? ` (${v.mode})` : ''}${v.reason ? ` — ${v.reason}` : ''}`;
            if (seen.get(v.vm) !== line && !json) console.log(line);
            seen.set(v.vm, line);
          }
        };
        report();
        while (o.wait && h.drain?.status === 'draining') {
          await new Promise((r) => setTimeout(r, 1000));
          h = await c.call('getHost', { params: { id } });
          report();
        }
        if (json) return printJson(h);
        console.log(`host ${h.name}: drain ${h.drain?.status ?? 'unknown'}, cordoned`);
        if (h.drain?.status === 'failed') process.exitCode = 1;
      }),
    );
}
