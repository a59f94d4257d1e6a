import type { Command } from 'commander';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { table } from '../format.ts';
import { printJson } from '../output.ts';
import { readStdin } from './access.ts';
import { act } from './vm.ts';

async function allSecrets(c: HearthClient) {
  const items = [];
  let cursor: string | undefined;
  do {
    const page = await c.call('listSecrets', {
      query: { limit: 500, cursor, ...(c.project ? { project: c.project } : {}) },
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** `hearth secret set|ls|rm`: project secrets, write-only, for `run --secret-env VAR=SECRET`. */
export function secretCommands(program: Command): void {
  const secret = program
    .command('secret')
    .description('Project secrets for container environments (write-only)');
  secret
    .command('set <name>')
    .description('Create or replace a secret; the value from stdin (--from-stdin) or --value')
    .option('--from-stdin', 'read the value from stdin (one trailing newline is dropped)')
    .option(
      '--value <value>',
      'the value (visible in the process list and shell history: prefer --from-stdin)',
    )
    .action(
      act(program, async (c, json, name: string, o: { fromStdin?: boolean; value?: string }) => {
        if (Boolean(o.fromStdin) === (o.value !== undefined)) {
          throw new UsageError('Give the value with exactly one of --from-stdin or --value.');
        }
        let value = o.value;
        if (o.fromStdin) {
          const buf = await readStdin();
          if (!buf) throw new UsageError('--from-stdin needs the value piped in (stdin is a terminal).');
          value = buf.toString('utf8').replace(/\r?\n$/, '');
        }
        const s = await c.call('putSecret', {
          params: { name },
          body: { value: value!, ...(c.project ? { project: c.project } : {}) },
        });
        if (json) return printJson(s);
        console.log(`secret ${s.name} set`);
      }),
    );
  secret
    .command('list')
    .alias('ls')
    .description("List the project's secrets (names only)")
    .action(
      act(program, async (c, json) => {
        const items = await allSecrets(c);
        if (json) return printJson(items);
        console.log(
          table(
            ['NAME', 'CREATED', 'UPDATED'],
            items.map((s) => [s.name, s.createdAt, s.updatedAt]),
          ),
        );
      }),
    );
  secret
    .command('remove <name...>')
    .alias('rm')
    .description('Delete secrets')
    .action(
      act(program, async (c, json, names: string[]) => {
        for (const name of names) {
          const s = await c.call('deleteSecret', {
            params: { name },
            query: c.project ? { project: c.project } : {},
          });
          if (json) printJson(s);
          else console.log(`secret ${s.name} deleted`);
        }
      }),
    );
}
