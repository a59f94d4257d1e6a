import type { Command } from 'commander';
import { parseDuration, type AuditRecord } from '@hearth/contract';
import { printJson } from '../output.ts';
import { table } from '../format.ts';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';

/** `--since 2h` (a duration back from now) or an ISO time. */
function since(text: string): string {
  const ms = parseDuration(text);
  if (ms !== null) return new Date(Date.now() - ms).toISOString();
  if (Number.isNaN(new Date(text).getTime()))
    throw new UsageError(
      `--since ${text} must be a duration like 2h or 7d, or a time like 2026-12-04T10:00:00Z.`,
    );
  return text;
}

const count = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`-n ${v} is not a positive whole number.`);
  return n;
};

/** `hearth audit`: the audit trail, newest first. */
export function auditCommand(program: Command): void {
  program
    .command('audit')
    .description('The audit trail of the project (owners), newest first; --all: everything (administrators)')
    .option('--actor <user>', 'only this user (name or id)')
    .option('--action <route>', 'only this action (a route id: createVm, login, …)')
    .option('--since <when>', 'only since a duration ago (2h, 7d) or a time')
    .option('--all', 'every project and the platform (administrators)')
    .option('-n, --limit <n>', 'at most this many records', count, 50)
    .action(
      act(
        program,
        async (
          c,
          json,
          o: { actor?: string; action?: string; since?: string; all?: boolean; limit: number },
        ) => {
          const query = {
            ...(o.actor ? { actor: o.actor } : {}),
            ...(o.action ? { action: o.action } : {}),
            ...(o.since ? { since: since(o.since) } : {}),
            ...(o.all ? { all: 'true' as const } : {}),
          };
          const items: AuditRecord[] = [];
          let cursor: string | undefined;
          do {
            const page = await c.call('listAudit', {
              query: {
                ...query,
                limit: Math.min(500, o.limit - items.length),
                ...(cursor ? { cursor } : {}),
              },
            });
            items.push(...page.items);
            cursor = page.nextCursor ?? undefined;
          } while (cursor && items.length < o.limit);
          if (json) return printJson(items);
          console.log(
            items.length
              ? table(
                  ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'PROJECT', 'OUTCOME', 'CODE', 'SOURCE'],
                  items.map((r) => [
                    r.at,
                    `${r.actor.kind}:${r.actor.name}`,
                    r.action,
                    r.target ?? '-',
                    r.project ?? '-',
                    `${r.outcome} ${r.status ?? ''}`.trim(),
                    r.code ?? '-',
                    r.source ?? '-',
                  ]),
                )
              : 'No audit records.',
          );
        },
      ),
    );
}
