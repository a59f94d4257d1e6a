import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  FunctionInfo,
  FunctionMetrics,
  FunctionVersion,
  Invocation,
  InvokeResult,
} from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';
import { cli, runHearth, CLI_ENV } from '../helpers/proc.ts';

// What a function's invocations leave behind, on real VMs and through the real CLI: the log
// followed live (`hearth fn logs -f`) and searched, and the metrics (throttles included) kept in
// the database across a manager restart.

const HANDLER = `
exports.handler = async (event, context) => {
  console.log('obs says ' + event.word + ' in ' + context.awsRequestId);
  // Holds its instance (concurrency 1) so that a call meanwhile is refused; ends by itself.
  if (event.holdMs) await new Promise((r) => setTimeout(r, event.holdMs));
  if (event.fail) throw new Error('failing on purpose');
  return { word: event.word };
};
`;

describe('function observability: followed and searched logs, metrics kept across restarts', () => {
  let p: Platform;
  const env = () => ({ ...CLI_ENV, HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken });
  const invoke = async (event: unknown) =>
    (await p.client.call('invokeFunction', {
      params: { name: 'obs' },
      body: event,
      query: {},
    } as never)) as InvokeResult;
  const metrics = async () =>
    (await p.client.call('functionMetrics', {
      params: { name: 'obs' },
      query: { range: '1h' },
    } as never)) as FunctionMetrics;

  beforeAll(async () => {
    p = await startPlatform({});
    const f = (await p.client.call('createFunction', {
      body: {
        name: 'obs',
        runtime: 'node22',
        handler: 'index.handler',
        files: { 'index.js': HANDLER },
        timeoutS: 120,
        idleS: 3600,
        concurrency: 1,
        maxInstances: 1,
        queue: 0,
      },
    } as never)) as FunctionInfo;
    let v: FunctionVersion;
    do {
      v = (await p.client.call('getFunctionVersion', {
        params: { name: 'obs', version: f.building! },
        query: { wait: 60 },
      } as never)) as FunctionVersion;
    } while (v.state === 'building');
    expect(v.error).toBeNull();
  }, 1_800_000);
  afterAll(async () => {
    await p?.dispose();
  });

  it('hearth fn logs -f prints the existing logs, then each new invocation as it ends; --grep and --request-id filter', async () => {
    const first = await invoke({ word: 'alpha' });
    expect(first.status).toBe('ok');
    const follow = runHearth(['fn', 'logs', '-f', 'obs'], env());
    try {
      await follow.waitFor(`| obs says alpha in ${first.requestId}`, 120_000);
      const second = await invoke({ word: 'bravo' });
      await follow.waitFor(new RegExp(`${second.requestId} v1 ok \\d+ ms \\| obs says bravo`), 120_000);
      // An asynchronous one shows once it ended, with what it printed.
      const queued = (await p.client.call('invokeFunctionAsync', {
        params: { name: 'obs' },
        body: { word: 'charlie', fail: true },
        query: {},
      } as never)) as Invocation;
      await follow.waitFor(new RegExp(`${queued.requestId} v1 error \\d+ ms \\| obs says charlie`), 120_000);
      // Each invocation once: the follow does not repeat what it printed.
      expect(follow.output().split(`obs says alpha`).length).toBe(2);
      expect(follow.child.exitCode).toBeNull();
    } finally {
      await follow.kill('SIGINT');
    }

    const grep = await cli(['fn', 'logs', 'obs', '--grep', 'BRAVO'], env());
    expect(grep.code, grep.stderr).toBe(0);
    expect(grep.stdout).toContain('obs says bravo');
    expect(grep.stdout).not.toContain('obs says alpha');
    const byId = await cli(['fn', 'logs', 'obs', '--request-id', first.requestId, '--json'], env());
    expect(byId.code, byId.stderr).toBe(0);
    const items = JSON.parse(byId.stdout) as { requestId: string }[];
    expect(items.map((i) => i.requestId)).toEqual([first.requestId]);
    // The search text is literal: a wildcard matches only itself.
    const wild = await p.client.call('functionLogs', { params: { name: 'obs' }, query: { q: '%' } } as never);
    expect(wild.items).toEqual([]);
  }, 900_000);

  it('a refused call counts as a throttle; hearth fn metrics prints the figures; they survive a manager restart', async () => {
    const before = await metrics();
    // The one instance serves one call at a time and nothing may queue: a call while it holds is refused.
    const held = invoke({ word: 'held', holdMs: 20_000 });
    await until('the held call runs', async () => (await metrics()).concurrent === 1, 300_000);
    const refused = await invoke({ word: 'refused' }).catch((e: { code?: string; status?: number }) => e);
    expect(refused).toMatchObject({ code: 'FUNCTION_THROTTLED', status: 429 });
    expect((await held).status).toBe('ok');

    const m = await metrics();
    expect(m).toMatchObject({
      invocations: before.invocations + 1,
      throttles: before.throttles + 1,
      errors: 1,
      coldStarts: 1,
      concurrent: 0,
    });
    expect(m.throttles).toBe(1);
    // The held call (20 s in the handler, the others a few ms) pulls the top percentile up.
    expect(m.durationMs.p99!).toBeGreaterThan(m.durationMs.p50!);
    // The buckets add up to the totals.
    const sum = (k: 'invocations' | 'errors' | 'throttles') => m.series.reduce((n, b) => n + b[k], 0);
    expect([sum('invocations'), sum('errors'), sum('throttles')]).toEqual([m.invocations, m.errors, 1]);
    expect(m.bucketS).toBe(60);

    const out = await cli(['fn', 'metrics', 'obs', '--range', '1h'], env());
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`invocations\\s+${m.invocations}\\n`));
    expect(out.stdout).toMatch(/errors\s+1\n/);
    expect(out.stdout).toMatch(/throttles\s+1\n/);
    expect(out.stdout).toMatch(/cold starts\s+1\n/);
    expect(out.stdout).toMatch(/duration p50\s+\d+\.\d ms\n/);
    expect(out.stdout).toMatch(/duration p95\s+\d+\.\d ms\n/);
    expect(out.stdout).toMatch(/duration p99\s+\d+\.\d ms\n/);
    expect(out.stdout).toMatch(/concurrent executions\s+0\n/);
    const badRange = await cli(['fn', 'metrics', 'obs', '--range', '2h'], env());
    expect(badRange.code).toBe(2);

    // The refusal is in the log too, searchable by its status line.
    const logs = await cli(['fn', 'logs', 'obs'], env());
    expect(logs.stdout).toMatch(/ v1 throttled 0 ms/);

    await p.manager.dispose();
    await p.startManager();
    const after = await metrics();
    expect(after).toMatchObject({
      invocations: m.invocations,
      errors: m.errors,
      throttles: 1,
      coldStarts: m.coldStarts,
      durationMs: m.durationMs,
    });
  }, 900_000);
});
