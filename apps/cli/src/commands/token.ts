import type { Command } from 'commander';
import type { ApiToken } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { act } from './vm.ts';

const ROLES = ['viewer', 'operator', 'owner', 'admin'] as const;

function when(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

/**
 * `hearth token create|ls|rm`: the caller's API tokens. Here `--project` is the new token's
 * scope, so these verbs send no project header of their own.
 */
export function tokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens (yours; administrators: anyone’s)');
  const scopeFlag = () => program.opts<{ project?: string }>().project;

  token
    .command('create <name>')
    .description('Create an API token; its secret is printed this once (on standard output)')
    .option('--expires <lifetime>', 'lifetime, e.g. 90d or 12h (default: no expiry)')
    .option('--role <role>', `role ceiling: ${ROLES.join(', ')}`)
    .option('--e2b', 'shape the secret e2b_<hex> (an E2B_API_KEY for the E2B SDK; see `hearth e2b env`)')
    .action(
      act(
        program,
        async (
          c,
          json,
          name: string,
          o: { expires?: string; role?: (typeof ROLES)[number]; e2b?: boolean },
        ) => {
          const project = scopeFlag();
          const t = await c.withProject(null).call('createToken', {
            body: {
              name,
              ...(o.expires ? { expiresIn: o.expires } : {}),
              ...(o.role ? { role: o.role } : {}),
              ...(project ? { project } : {}),
              ...(o.e2b ? { format: 'e2b' as const } : {}),
            },
          });
          if (json) return printJson(t);
          const limits = [
            t.role && `role ${t.role}`,
            t.project && `project ${t.project}`,
            t.expiresAt && `expires ${when(t.expiresAt)}`,
          ];
          process.stderr.write(
            `Created token ${t.name} (${t.id})${limits.some(Boolean) ? `, ${limits.filter(Boolean).join(', ')}` : ''}. ` +
              'Its secret is shown this once:\n',
          );
          console.log(t.token);
        },
      ),
    );

  token
    .command('list')
    .alias('ls')
    .description('List API tokens (never their secrets)')
    .option('--user <name>', 'another user’s tokens (administrators)')
    .option('--all', 'every user’s tokens and the bootstrap admin token (administrators)')
    .action(
      act(program, async (c, json, o: { user?: string; all?: boolean }) => {
        const items: ApiToken[] = await c
          .withProject(null)
          .all('listTokens', { ...(o.all ? { all: 'true' } : {}), ...(o.user ? { user: o.user } : {}) });
        if (json) return printJson(items);
        console.log(
          table(
            ['ID', 'NAME', 'USER', 'ROLE', 'PROJECT', 'CREATED', 'EXPIRES', 'LAST USED'],
            items.map((t) => [
              t.id,
              t.name,
              t.userName ?? (t.kind === 'admin' ? '(bootstrap)' : '-'),
              t.role ?? '-',
              t.project ?? '-',
              when(t.createdAt),
              when(t.expiresAt),
              when(t.lastUsedAt),
            ]),
          ),
        );
      }),
    );

  token
    .command('remove <id>')
    .alias('rm')
    .description('Revoke a token')
    .action(
      act(program, async (c, json, id: string) => {
        await c.withProject(null).call('deleteToken', { params: { id } });
        if (json) return printJson({ id, revoked: true });
        console.log(`revoked token ${id}`);
      }),
    );
}
