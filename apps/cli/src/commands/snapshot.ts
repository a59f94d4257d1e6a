import type { Command } from 'commander';
import { printJson } from '../output.ts';
import { mib, table } from '../format.ts';
import { scheduleCommands } from './schedule.ts';
import { act, summary, waitFor } from './vm.ts';

/** `hearth snapshot create|list|restore|delete` */
export function snapshotCommands(program: Command): void {
  const snap = program.command('snapshot').description('Snapshots: memory, device state and disk of a VM');

  snap
    .command('create <vm>')
    .description('Snapshot a running or paused VM (it continues as it was)')
    .option('--name <name>', 'snapshot name (default <vm>-<time>)')
    .option('--disk-only', 'the root disk and volumes only (a stopped VM too); restoring it boots cold')
    .option('--diff', "Firecracker: only the memory changed since the VM's last snapshot (its base)")
    .action(
      act(program, async (c, json, vm: string, o: { name?: string; diskOnly?: boolean; diff?: boolean }) => {
        const s = await c.call('createSnapshot', {
          params: { id: vm },
          body: {
            ...(o.name ? { name: o.name } : {}),
            ...(o.diskOnly ? { kind: 'disk' as const } : {}),
            ...(o.diff ? { type: 'diff' as const } : {}),
          },
        });
        if (json) return printJson(s);
        const base = s.base ? `, a diff on ${s.base}` : '';
        console.log(`snapshot ${s.name} (${s.id}) of ${s.vmName}: ${mib(s.sizeBytes)} on ${s.host}${base}`);
      }),
    );

  snap
    .command('list')
    .alias('ls')
    .description('List snapshots, newest first, with their lineage')
    .option('--vm <vm>', 'only snapshots of this VM')
    .action(
      act(program, async (c, json, o: { vm?: string }) => {
        const items = await c.all('listSnapshots', o.vm ? { vm: o.vm } : {});
        if (json) return printJson(items);
        const names = new Map(items.map((s) => [s.id, s.name]));
        console.log(
          items.length
            ? table(
                ['NAME', 'ID', 'VM', 'KIND', 'STATE', 'SIZE', 'VMM', 'PARENT', 'CREATED'],
                items.map((s) => [
                  s.name,
                  s.id,
                  s.vmName + (s.vm ? '' : ' (deleted)'),
                  s.type === 'diff' ? `diff on ${s.base ? (names.get(s.base) ?? s.base) : '?'}` : s.kind,
                  s.state,
                  mib(s.sizeBytes),
                  `${s.vmm} ${s.vmmVersion}`.trim(),
                  s.parent ? (names.get(s.parent) ?? s.parent) : '-',
                  s.createdAt.replace('T', ' ').slice(0, 19),
                ]),
              )
            : 'No snapshots yet. Take one with `hearth snapshot create <vm>`.',
        );
      }),
    );

  snap
    .command('restore <snapshot>')
    .description('Restore a snapshot in place onto its VM, or with --as into a new VM (a clone)')
    .option('--as <name>', 'clone into a new VM with this name instead of restoring in place')
    .option('--no-wait', 'return as soon as the restore is accepted')
    .action(
      act(program, async (c, json, snapshot: string, o: { as?: string; wait: boolean }) => {
        let vm;
        if (o.as) vm = await c.call('cloneSnapshot', { params: { id: snapshot }, body: { name: o.as } });
        else {
          const s = await c.call('getSnapshot', { params: { id: snapshot } });
          if (!s.vm) {
            throw new Error(
              `Restoring in place failed: the VM of snapshot ${s.name} was deleted; clone it with --as <name>.`,
            );
          }
          vm = await c.call('restoreVm', { params: { id: s.vm }, body: { snapshot: s.id } });
        }
        // A disk-only restore onto a stopped VM leaves it stopped.
        if (o.wait) vm = await waitFor(c, vm.id, vm.desiredState === 'stopped' ? 'stopped' : 'running', 300);
        if (json) return printJson(vm);
        console.log(summary(vm));
      }),
    );

  snap
    .command('delete <snapshot...>')
    .alias('rm')
    .description('Delete snapshots (VMs cloned from them are unaffected)')
    .action(
      act(program, async (c, json, ids: string[]) => {
        const out = [];
        for (const id of ids) out.push(await c.call('deleteSnapshot', { params: { id } }));
        if (json) return printJson(out);
        for (const s of out) console.log(`deleted snapshot ${s.name} (${s.id})`);
      }),
    );

  scheduleCommands(program, snap);
}
