import type { Command } from 'commander';
import { parseSize, QUOTA_NAMES, type Project, type ProjectQuotas, type QuotaName } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';

const line = (p: Project) => `project ${p.name} (${p.id}), your role: ${p.role}`;

/** Quota flags: the flag, the quota it sets, and whether it takes a size (MiB). */
const QUOTA_FLAGS: [flag: string, quota: QuotaName, size: boolean][] = [
  ['vms', 'vms', false],
  ['vcpus', 'vcpus', false],
  ['memory', 'memoryMib', true],
  ['disk', 'diskMib', true],
  ['snapshots', 'snapshots', false],
  ['volumes', 'volumes', false],
  ['networks', 'networks', false],
  ['ports', 'publishedPorts', false],
];
const camel = (flag: string) => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** A limit from the command line: `none` removes it; sizes take units (8g, 512m; a bare number is MiB). */
function parseLimit(flag: string, value: string, size: boolean): number | null {
  if (value === 'none') return null;
  if (/^\d+$/.test(value)) return Number(value);
  const bytes = size ? parseSize(value) : null;
  if (bytes === null || bytes % 2 ** 20 !== 0) {
    throw new UsageError(
      `--${flag} ${value} must be ${size ? 'a size such as 8g or 512m (MiB when bare)' : 'a whole number'}, or none.`,
    );
  }
  return bytes / 2 ** 20;
}

function quotasFrom(o: Record<string, unknown>): ProjectQuotas {
  const q: Record<string, number | null> = {};
  for (const [flag, quota, size] of QUOTA_FLAGS) {
    const v = o[camel(flag)];
    if (typeof v === 'string') q[quota] = parseLimit(flag, v, size);
  }
  return q;
}

const withQuotaFlags = (cmd: Command) => {
  for (const [flag, quota, size] of QUOTA_FLAGS)
    cmd.option(
      `--${flag} <${size ? 'size' : 'n'}>`,
      `limit on ${quota}${size ? ' (e.g. 8g)' : ''}; none removes it`,
    );
  return cmd;
};

const limitText = (quota: QuotaName, n: number) => (quota.endsWith('Mib') ? `${n}MiB` : String(n));

/** `hearth project ls|create|show|rm|quota set|members|member add|member rm` */
export function projectCommands(program: Command): void {
  const project = program
    .command('project')
    .description('Projects: namespaces with members, roles and quotas');
  project
    .command('list')
    .alias('ls')
    .description('List your projects (administrators: all)')
    .action(
      act(program, async (c, json) => {
        const items = await c.all('listProjects');
        if (json) return printJson(items);
        console.log(
          table(
            ['NAME', 'ROLE', 'VMS', 'MEMORY', 'DESCRIPTION'],
            items.map((p) => [
              p.name,
              p.role,
              `${p.usage.vms}/${p.quotas.vms ?? '-'}`,
              `${p.usage.memoryMib}/${p.quotas.memoryMib ?? '-'}MiB`,
              p.description,
            ]),
          ),
        );
      }),
    );
  withQuotaFlags(
    project
      .command('create <name>')
      .description('Create a project (administrators); you become its owner')
      .option('--description <text>', 'what the project is for'),
  ).action(
    act(program, async (c, json, name: string, o: Record<string, unknown>) => {
      const p = await c.call('createProject', {
        body: { name, description: (o.description as string | undefined) ?? '', quotas: quotasFrom(o) },
      });
      if (json) return printJson(p);
      console.log(`created: ${line(p)}`);
    }),
  );
  project
    .command('show <project>')
    .alias('inspect')
    .description("A project's quotas and usage")
    .action(
      act(program, async (c, json, id: string) => {
        const p = await c.call('getProject', { params: { id } });
        if (json) return printJson(p);
        console.log(`${line(p)}${p.description ? `\n${p.description}` : ''}`);
        console.log(
          table(
            ['QUOTA', 'USED', 'LIMIT'],
            QUOTA_NAMES.map((q) => {
              const limit = p.quotas[q];
              return [q, limitText(q, p.usage[q]), limit == null ? 'unlimited' : limitText(q, limit)];
            }),
          ),
        );
      }),
    );
  project
    .command('rm <project>')
    .alias('delete')
    .description('Delete an empty project (administrators)')
    .action(
      act(program, async (c, json, id: string) => {
        await c.call('deleteProject', { params: { id } });
        if (json) return printJson({ deleted: id });
        console.log(`deleted: project ${id}`);
      }),
    );

  const quota = project.command('quota').description("A project's limits (administrators)");
  withQuotaFlags(
    quota.command('set <project>').description('Set limits; the others stay as they are'),
  ).action(
    act(program, async (c, json, id: string, o: Record<string, unknown>) => {
      const quotas = quotasFrom(o);
      if (!Object.keys(quotas).length)
        throw new UsageError(`Name a limit to set: ${QUOTA_FLAGS.map(([f]) => `--${f}`).join(', ')}.`);
      const p = await c.call('patchProject', { params: { id }, body: { quotas } });
      if (json) return printJson(p);
      const set = QUOTA_NAMES.filter((q) => p.quotas[q] != null).map(
        (q) => `${q}=${limitText(q, p.quotas[q]!)}`,
      );
      console.log(`quotas of ${p.name}: ${set.join(', ') || 'unlimited'}`);
    }),
  );

  project
    .command('members <project>')
    .description('List the members of a project and their roles')
    .action(
      act(program, async (c, json, id: string) => {
        const { items } = await c.call('listMembers', { params: { id } });
        if (json) return printJson(items);
        console.log(
          items.length
            ? table(
                ['USER', 'ROLE', 'SINCE'],
                items.map((m) => [m.userName, m.role, m.createdAt]),
              )
            : 'No members (administrators manage it).',
        );
      }),
    );
  const member = project.command('member').description('Add, change or remove members (owners)');
  member
    .command('add <project> <user> <role>')
    .alias('set')
    .description('Add a user as viewer, operator or owner, or change their role')
    .action(
      act(program, async (c, json, id: string, user: string, role: string) => {
        if (role !== 'viewer' && role !== 'operator' && role !== 'owner')
          throw new UsageError(`Role ${role} must be viewer, operator or owner.`);
        const m = await c.call('putMember', { params: { id, user }, body: { role } });
        if (json) return printJson(m);
        console.log(`${m.userName} is ${m.role} in ${id}`);
      }),
    );
  member
    .command('rm <project> <user>')
    .alias('remove')
    .description('Remove a user from a project')
    .action(
      act(program, async (c, json, id: string, user: string) => {
        await c.call('deleteMember', { params: { id, user } });
        if (json) return printJson({ project: id, removed: user });
        console.log(`removed ${user} from ${id}`);
      }),
    );
}
