import type { Command } from 'commander';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { act, summary, waitFor } from './vm.ts';

/** `hearth template save|ls|instantiate|rm`. Templates from scratch: POST /v1/templates. */
export function templateCommands(program: Command): void {
  const tpl = program.command('template').description('Saved VM configurations');

  tpl
    .command('save <vm> <name>')
    .description("Save a VM's configuration as a template")
    .option('--description <text>', 'what it is for', '')
    .action(
      act(program, async (c, json, vm: string, name: string, o: { description: string }) => {
        const t = await c.call('saveVmAsTemplate', {
          params: { id: vm },
          body: { name, description: o.description },
        });
        if (json) return printJson(t);
        console.log(
          `template ${t.name} (${t.id}): ${t.spec.vcpus} vCPU, ${t.spec.memoryMib}MiB, ${t.spec.volumes.length} volume(s)`,
        );
      }),
    );
  tpl
    .command('list')
    .alias('ls')
    .description('List templates')
    .action(
      act(program, async (c, json) => {
        const items = await c.all('listTemplates');
        if (json) return printJson(items);
        console.log(
          items.length
            ? table(
                ['NAME', 'ID', 'VCPUS', 'MEMORY', 'IMAGE', 'USER', 'VOLUMES', 'DESCRIPTION'],
                items.map((t) => [
                  t.name,
                  t.id,
                  String(t.spec.vcpus),
                  `${t.spec.memoryMib}MiB`,
                  t.spec.image ?? 'base',
                  t.spec.user ?? '-',
                  t.spec.volumes.map((v) => v.size).join(',') || '-',
                  t.description,
                ]),
              )
            : 'No templates yet. Save one with `hearth template save <vm> <name>`.',
        );
      }),
    );
  tpl
    .command('instantiate <template>')
    .description('Create and start VMs from a template')
    .option('--count <n>', 'how many', (v) => Number(v), 1)
    .option('--prefix <prefix>', 'instance names <prefix>-1, <prefix>-2, … (default the template name)')
    .option('--password <password>', "password for the template's user")
    .option('--no-wait', 'return as soon as they are accepted')
    .action(
      act(
        program,
        async (
          c,
          json,
          id: string,
          o: { count: number; prefix?: string; password?: string; wait: boolean },
        ) => {
          const r = await c.call('instantiateTemplate', {
            params: { id },
            body: {
              count: o.count,
              ...(o.prefix ? { namePrefix: o.prefix } : {}),
              ...(o.password ? { password: o.password } : {}),
            },
          });
          const vms = o.wait
            ? await Promise.all(r.items.map((v) => waitFor(c, v.id, 'running', 300)))
            : r.items;
          if (json) return printJson(vms);
          for (const v of vms) console.log(summary(v));
        },
      ),
    );
  tpl
    .command('delete <template>')
    .alias('rm')
    .description('Delete a template (VMs made from it stay)')
    .action(
      act(program, async (c, json, id: string) => {
        const t = await c.call('deleteTemplate', { params: { id } });
        if (json) return printJson(t);
        console.log(`deleted template ${t.name} (${t.id})`);
      }),
    );
}
