import type { Command } from 'commander';
import type { CreateScheduleBody, SnapshotSchedule, UpdateScheduleBody } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { act } from './vm.ts';
import { UsageError } from '../usage-error.ts';
import { labelPairs } from './host-placement.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

/** `hearth snapshot schedule create|ls|rm`: cron-driven snapshots with retention. */
export function scheduleCommands(program: Command, snap: Command): void {
  const sched = snap
    .command('schedule')
    .description('Snapshot schedules: snapshots on a cron schedule, pruned by count and/or age');

  sched
    .command('create [vm]')
    .description('Snapshot a VM (or every running VM with --selector labels) on a cron schedule (UTC)')
    .requiredOption('--cron <expr>', 'five-field cron expression, e.g. "0 3 * * *"')
    .option('--keep <count>', 'keep at most this many snapshots per VM', (v) => Number(v))
    .option('--max-age <age>', 'delete snapshots older than this (e.g. 12h, 7d, 4w)')
    .option('--selector <key=value>', 'every VM with these labels (repeatable)', collect, [])
    .option('--name <name>', 'schedule name')
    .option('--disabled', 'create it without running it')
    .option('--disk-only', 'disk-only snapshots (root disk and volumes, no memory): restored by a cold boot')
    .action(
      act(
        program,
        async (
          c,
          json,
          vm: string | undefined,
          o: {
            cron: string;
            keep?: number;
            maxAge?: string;
            selector: string[];
            name?: string;
            disabled?: boolean;
            diskOnly?: boolean;
          },
        ) => {
          const body: CreateScheduleBody = {
            cron: o.cron,
            retention: {
              ...(o.keep !== undefined ? { count: o.keep } : {}),
              ...(o.maxAge ? { maxAge: o.maxAge } : {}),
            },
            memory: !o.diskOnly,
            enabled: !o.disabled,
            ...(vm ? { vm } : {}),
            ...(o.selector.length ? { selector: labelPairs(o.selector, '--selector') } : {}),
            ...(o.name ? { name: o.name } : {}),
          };
          const s = await c.call('createSchedule', { body });
          if (json) return printJson(s);
          console.log(`schedule ${s.name} (${s.id}): "${s.cron}", next run ${s.nextRunAt ?? 'never'}`);
        },
      ),
    );

  sched
    .command('list')
    .alias('ls')
    .description('List snapshot schedules')
    .option('--vm <vm>', 'only schedules of this VM')
    .action(
      act(program, async (c, json, o: { vm?: string }) => {
        const items = await c.all('listSchedules', o.vm ? { vm: o.vm } : {});
        if (json) return printJson(items);
        const keep = (r: (typeof items)[number]['retention']) =>
          [r.count !== undefined ? `${r.count}` : '', r.maxAge ?? ''].filter(Boolean).join(', ');
        console.log(
          items.length
            ? table(
                ['NAME', 'ID', 'TARGET', 'CRON', 'KIND', 'KEEP', 'NEXT RUN', 'LAST ERROR'],
                items.map((s) => [
                  s.name,
                  s.id,
                  s.vm ??
                    Object.entries(s.selector ?? {})
                      .map(([k, v]) => `${k}=${v}`)
                      .join(','),
                  s.cron,
                  s.memory ? 'memory' : 'disk',
                  keep(s.retention),
                  s.enabled ? (s.nextRunAt?.replace('T', ' ').slice(0, 16) ?? '-') : 'disabled',
                  s.lastError ?? '-',
                ]),
              )
            : 'No snapshot schedules. Create one with `hearth snapshot schedule create <vm> --cron "0 3 * * *" --keep 7`.',
        );
      }),
    );

  sched
    .command('update <schedule>')
    .description('Change a schedule: cron, retention, kind; a new cron recomputes the next run')
    .option('--cron <expr>', 'five-field cron expression (UTC)')
    .option('--keep <count>', 'keep at most this many snapshots per VM', (v) => Number(v))
    .option('--max-age <age>', 'delete snapshots older than this (e.g. 12h, 7d, 4w)')
    .option('--disk-only', 'take disk-only snapshots from now on')
    .option('--memory', 'take snapshots with memory from now on')
    .action(
      act(
        program,
        async (
          c,
          json,
          id: string,
          o: { cron?: string; keep?: number; maxAge?: string; diskOnly?: boolean; memory?: boolean },
        ) => {
          if (o.diskOnly && o.memory) throw new UsageError('give --disk-only or --memory, not both');
          const keepGiven = o.keep !== undefined || o.maxAge !== undefined;
          const body: UpdateScheduleBody = {
            ...(o.cron ? { cron: o.cron } : {}),
            ...(keepGiven
              ? {
                  retention: {
                    ...(o.keep !== undefined ? { count: o.keep } : {}),
                    ...(o.maxAge ? { maxAge: o.maxAge } : {}),
                  },
                }
              : {}),
            ...(o.diskOnly ? { memory: false } : o.memory ? { memory: true } : {}),
          };
          show(json, await c.call('updateSchedule', { params: { id }, body }), 'updated');
        },
      ),
    );

  for (const [verb, route] of [
    ['enable', 'enableSchedule'],
    ['disable', 'disableSchedule'],
  ] as const) {
    sched
      .command(`${verb} <schedule...>`)
      .description(
        verb === 'enable'
          ? 'Enable schedules: the next run is computed from now'
          : 'Disable schedules: they never fire until enabled again',
      )
      .action(
        act(program, async (c, json, ids: string[]) => {
          const out = [];
          for (const id of ids) out.push(await c.call(route, { params: { id } }));
          if (json) return printJson(out);
          for (const s of out) show(false, s, `${verb}d`);
        }),
      );
  }

  sched
    .command('delete <schedule...>')
    .alias('rm')
    .description('Delete snapshot schedules (the snapshots they took stay)')
    .action(
      act(program, async (c, json, ids: string[]) => {
        const out = [];
        for (const id of ids) out.push(await c.call('deleteSchedule', { params: { id } }));
        if (json) return printJson(out);
        for (const s of out) console.log(`deleted schedule ${s.name} (${s.id})`);
      }),
    );
}

function show(json: boolean, s: SnapshotSchedule, did: string): void {
  if (json) return printJson(s);
  console.log(
    `${did} schedule ${s.name} (${s.id}): "${s.cron}", ${s.memory ? 'memory' : 'disk-only'}, next run ${s.enabled ? (s.nextRunAt ?? 'never') : 'never (disabled)'}`,
  );
}
