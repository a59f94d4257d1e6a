import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { User } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';

const line = (u: User) =>
  `user ${u.name} (${u.id})${u.admin ? ', administrator' : ''}${u.disabled ? ', disabled' : ''}`;

/**
 * A password from standard input: its first line when piped (`--password-stdin`), else typed at
 * a prompt without echo. Never taken as an argument, where it would land in shell history.
 */
async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const pw = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (!pw) throw new UsageError('No password on standard input.');
    return pw;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const muted = rl as unknown as { _writeToOutput: (s: string) => void };
  let prompting = true;
  muted._writeToOutput = (s) => {
    if (!prompting || s.includes('Password')) process.stderr.write(s);
  };
  try {
    const pw = await new Promise<string>((resolve) => rl.question('Password: ', resolve));
    prompting = false;
    process.stderr.write('\n');
    if (!pw) throw new UsageError('The password is empty.');
    return pw;
  } finally {
    rl.close();
  }
}

/** `hearth user ls|create|disable|enable|rm|passwd` (administrators). */
export function userCommands(program: Command): void {
  const user = program.command('user').description('Users who sign in (administrators)');
  const patch = (verb: string, body: (o: Record<string, unknown>) => Promise<Record<string, unknown>>) =>
    act(program, async (c, json, id: string, o: Record<string, unknown>) => {
      const u = await c.call('patchUser', { params: { id }, body: (await body(o)) as never });
      if (json) return printJson(u);
      console.log(`${verb}: ${line(u)}`);
    });

  user
    .command('list')
    .alias('ls')
    .description('List users')
    .action(
      act(program, async (c, json) => {
        const items = await c.all('listUsers');
        if (json) return printJson(items);
        console.log(
          table(
            ['NAME', 'ID', 'ADMIN', 'STATE', 'SIGN-IN', 'LAST SIGN-IN'],
            items.map((u) => [
              u.name,
              u.id,
              u.admin ? 'yes' : 'no',
              u.disabled ? 'disabled' : 'enabled',
              [u.hasPassword && 'password', u.sso && 'sso'].filter(Boolean).join(',') || '-',
              u.lastSignInAt ?? 'never',
            ]),
          ),
        );
      }),
    );
  user
    .command('create <name>')
    .description('Create a user (with a password read from standard input or a prompt)')
    .option('--admin', 'platform administrator')
    .option('--password-stdin', 'read the password from standard input')
    .option('--no-password', 'no password: the user signs in with single sign-on only')
    .option('--display-name <name>', 'full name')
    .option('--email <email>', 'e-mail address')
    .action(
      act(program, async (c, json, name: string, o: Record<string, unknown>) => {
        const password = o.password === false ? undefined : await readPassword(Boolean(o.passwordStdin));
        const u = await c.call('createUser', {
          body: {
            name,
            admin: Boolean(o.admin),
            ...(password === undefined ? {} : { password }),
            ...(o.displayName ? { displayName: String(o.displayName) } : {}),
            ...(o.email ? { email: String(o.email) } : {}),
          },
        });
        if (json) return printJson(u);
        console.log(`created: ${line(u)}`);
      }),
    );
  user
    .command('disable <user>')
    .description('Stop a user signing in; ends its sessions, its tokens stop working')
    .action(patch('disabled', async () => ({ disabled: true })));
  user
    .command('enable <user>')
    .description('Let a disabled user sign in again')
    .action(patch('enabled', async () => ({ disabled: false })));
  user
    .command('passwd <user>')
    .description("Set a user's password (read from standard input or a prompt); ends its sessions")
    .option('--password-stdin', 'read the password from standard input')
    .action(patch('password set', async (o) => ({ password: await readPassword(Boolean(o.passwordStdin)) })));
  user
    .command('rm <user>')
    .alias('delete')
    .description('Delete a user with its tokens, sessions and memberships')
    .action(
      act(program, async (c, json, id: string) => {
        await c.call('deleteUser', { params: { id } });
        if (json) return printJson({ deleted: id });
        console.log(`deleted: user ${id}`);
      }),
    );
}
