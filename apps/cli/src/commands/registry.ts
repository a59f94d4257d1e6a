import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { askHidden, readStdin } from '../prompt.ts';
import { act } from './vm.ts';

/** The password: standard input (`--password-stdin`, or piped), else typed without echo; never argv. */
async function registryPassword(fromStdin: boolean): Promise<string> {
  const pw = fromStdin || !process.stdin.isTTY ? await readStdin() : await askHidden('Password: ');
  if (!pw) throw new UsageError('The password is empty (give it on standard input with --password-stdin).');
  return pw;
}

/** `hearth registry login|ls|rm`: credentials for private registries, per project. */
export function registryCommands(program: Command): void {
  const reg = program
    .command('registry')
    .description('Credentials for private OCI registries (used by image imports and containers)');

  reg
    .command('login <host>')
    .description('Store the credentials for a registry host[:port] (the password is kept encrypted)')
    .requiredOption('-u, --username <user>', 'user name at the registry')
    .option('--password-stdin', 'read the password from standard input')
    .action(
      act(program, async (c, json, host: string, o: { username: string; passwordStdin?: boolean }) => {
        const password = await registryPassword(Boolean(o.passwordStdin));
        const r = await c.call('putRegistryCredential', {
          params: { name: host },
          body: { username: o.username, password },
        });
        if (json) return printJson(r);
        console.log(`credentials stored for ${r.registry} (user ${r.username}, project ${r.project})`);
      }),
    );
  reg
    .command('list')
    .alias('ls')
    .description('List the registry hosts with stored credentials (user names only)')
    .action(
      act(program, async (c, json) => {
        const items = [];
        let cursor: string | undefined;
        do {
          const page = await c.call('listRegistryCredentials', {
            query: { limit: 100, ...(cursor ? { cursor } : {}) },
          });
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        if (json) return printJson(items);
        console.log(
          items.length
            ? table(
                ['REGISTRY', 'USER', 'UPDATED'],
                items.map((r) => [r.registry, r.username, r.updatedAt]),
              )
            : 'No registry credentials. Store some with `hearth registry login HOST -u USER --password-stdin`.',
        );
      }),
    );
  reg
    .command('rm <host>')
    .alias('logout')
    .description('Forget the credentials for a registry host')
    .action(
      act(program, async (c, json, host: string) => {
        const r = await c.call('deleteRegistryCredential', { params: { name: host } });
        if (json) return printJson(r);
        console.log(`credentials for ${r.registry} removed`);
      }),
    );
}
