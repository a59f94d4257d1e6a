import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { HearthClient } from '@hearth/sdk';
import type { FunctionLog, FunctionMetrics } from '@hearth/contract';
import { UsageError } from '../usage-error.ts';
import { table } from '../format.ts';
import { printJson } from '../output.ts';
import { act } from './vm.ts';

const pq = (c: HearthClient) => (c.project ? { project: c.project } : {});
const RANGES = ['1h', '24h', '7d'] as const;

function limitOf(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 500)
    throw new UsageError(`--limit ${v} must be a whole number from 1 to 500.`);
  return n;
}

/** One invocation's lines, each prefixed with its time, request id, version, status and duration. */
function printLog(l: FunctionLog, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify(l)}\n`);
  const head = `${l.at} ${l.requestId} v${l.version} ${l.status} ${l.durationMs} ms${l.cold ? ' cold' : ''}`;
  const lines = l.logs.replace(/\n$/, '').split('\n').filter(Boolean);
  console.log(lines.length ? lines.map((x) => `${head} | ${x}`).join('\n') : head);
}

interface LogOpts {
  limit: string;
  requestId?: string;
  grep?: string;
  follow?: boolean;
}

/** Prints the function's log; following, each invocation as it ends, until the manager or Ctrl-C ends it. */
async function logs(c: HearthClient, json: boolean, name: string, o: LogOpts): Promise<void> {
  const query = {
    ...pq(c),
    limit: limitOf(o.limit),
    ...(o.requestId ? { requestId: o.requestId } : {}),
    ...(o.grep ? { q: o.grep } : {}),
  };
  if (!o.follow) {
    const { items } = await c.call('functionLogs', { params: { name }, query } as never);
    if (json) return printJson(items);
    for (const l of items.reverse()) printLog(l, false);
    return;
  }
  const res = await c.raw('functionLogs', { params: { name }, query: { ...query, follow: 'true' } } as never);
  // One JSON object a line with --json (NDJSON, as the manager sends them).
  for await (const text of createInterface({ input: Readable.fromWeb(res.body as never) })) {
    if (text.trim()) printLog(JSON.parse(text) as FunctionLog, json);
  }
}

const ms = (n: number | null) => (n === null ? '-' : `${n.toFixed(1)} ms`);

function printMetrics(m: FunctionMetrics): void {
  console.log(
    table(
      ['METRIC', `LAST ${m.range}`],
      [
        ['invocations', String(m.invocations)],
        ['errors', String(m.errors)],
        ['timeouts', String(m.timeouts)],
        ['throttles', String(m.throttles)],
        ['cold starts', String(m.coldStarts)],
        ['duration p50', ms(m.durationMs.p50)],
        ['duration p95', ms(m.durationMs.p95)],
        ['duration p99', ms(m.durationMs.p99)],
        ['concurrent executions', String(m.concurrent)],
        ['instances ready', String(m.instances)],
      ],
    ),
  );
}

/** `hearth fn logs|metrics`: what a function's invocations left behind. */
export function fnObserveCommands(program: Command, fn: Command): void {
  fn.command('logs <name>')
    .description('Per-invocation logs, newest last, each tagged with its request id; -f follows new ones')
    .option('--limit <n>', 'invocations', '20')
    .option('--request-id <id>', 'one invocation only')
    .option('--grep <text>', 'only invocations whose output contains the text (any case)')
    .option('-f, --follow', 'keep printing invocations as they end, until Ctrl-C')
    .action(act(program, (c, json, name: string, o: LogOpts) => logs(c, json, name, o)));
  fn.command('metrics <name>')
    .description('Invocations, errors, throttles, cold starts, duration percentiles and concurrency')
    .option('--range <range>', `the period: ${RANGES.join(', ')}`, '1h')
    .action(
      act(program, async (c, json, name: string, o: { range: string }) => {
        if (!(RANGES as readonly string[]).includes(o.range)) {
          throw new UsageError(`--range ${o.range} must be one of ${RANGES.join(', ')}.`);
        }
        const m = await c.call('functionMetrics', {
          params: { name },
          query: { ...pq(c), range: o.range },
        } as never);
        if (json) return printJson(m);
        printMetrics(m);
      }),
    );
}
