import type { Command } from 'commander';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { act } from './vm.ts';
import { hostPlacementCommands } from './host-placement.ts';

const when = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '-');

/** `hearth host join-token create|ls|rm`, `hearth host rotate HOST`, `hearth host rm HOST [--force]` (administrators). */
export function hostCommands(program: Command, host: Command): void {
  hostPlacementCommands(program, host);
  const jt = host
    .command('join-token')
    .description('Tokens a new host registers with (per host or per batch)');
  jt.command('create')
    .description('Create a join token; the secret is printed this once')
    .option('--name <name>', 'what it is for', 'join token')
    .option('--uses <n>', 'how many hosts may register with it', '1')
    .option('--expires <lifetime>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .action(
      act(program, async (c, json, o: { name: string; uses: string; expires: string }) => {
        const t = await c.call('createJoinToken', {
          body: { name: o.name, uses: Number(o.uses), expiresIn: o.expires },
        });
        if (json) return printJson(t);
        console.log(`join token ${t.id} (${t.usesLeft} use(s), expires ${when(t.expiresAt)}):`);
        console.log(t.token);
        console.log(`On the new host: hearth agent --manager URL (with HEARTH_JOIN_TOKEN set to it)`);
      }),
    );
  jt.command('list')
    .alias('ls')
    .description('List join tokens that are not revoked (never their secrets)')
    .action(
      act(program, async (c, json) => {
        const items = [];
        let cursor: string | undefined;
        do {
          const page = await c.call('listJoinTokens', {
            query: { limit: 500, ...(cursor ? { cursor } : {}) },
          });
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        if (json) return printJson(items);
        console.log(
          table(
            ['ID', 'NAME', 'USES LEFT', 'EXPIRES', 'LAST USED', 'CREATED'],
            items.map((t) => [
              t.id,
              t.name,
              t.usesLeft === null ? 'unlimited' : String(t.usesLeft),
              t.expiresAt ? when(t.expiresAt) : 'never',
              when(t.lastUsedAt),
              when(t.createdAt),
            ]),
          ),
        );
      }),
    );
  jt.command('rm <id>')
    .alias('revoke')
    .description('Revoke a join token (hosts that registered with it keep their own credentials)')
    .action(
      act(program, async (c, json, id: string) => {
        await c.call('deleteJoinToken', { params: { id } });
        if (json) return printJson({ revoked: id });
        console.log(`revoked join token ${id}`);
      }),
    );
  host
    .command('rm <host>')
    .alias('remove')
    .description(
      'Remove a host and its credentials; --force for a host gone for good that still holds VMs (they become lost, then deletable)',
    )
    .option('--force', 'remove it even though it holds VMs, volumes or snapshots')
    .action(
      act(program, async (c, json, id: string, o: { force?: boolean }) => {
        const r = await c.call('removeHost', {
          params: { id },
          query: o.force ? { force: 'true' } : {},
        });
        if (json) return printJson(r);
        console.log(`removed host ${r.name} (${r.id})`);
        if (r.lostVms.length) {
          console.log(
            `${r.lostVms.length} VM(s) marked lost; delete them with hearth rm: ${r.lostVms.join(' ')}`,
          );
        }
        const forgotten = r.forgottenVolumes.length + r.forgottenSnapshots.length;
        if (forgotten) {
          console.log(
            `forgot ${r.forgottenVolumes.length} volume(s) and ${r.forgottenSnapshots.length} snapshot(s) kept on it`,
          );
        }
      }),
    );
  host
    .command('rotate <host>')
    .description('Give a host new credentials (both directions); its VMs keep running')
    .action(
      act(program, async (c, json, id: string) => {
        const r = await c.call('rotateHostCredentials', { params: { id } });
        if (json) return printJson(r);
        console.log(`rotated the credentials of host ${r.hostId}`);
      }),
    );
}
