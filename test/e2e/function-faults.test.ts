import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorCatalogue,
  type FunctionMetrics,
  type FunctionVersion,
  type InvokeResult,
} from '@hearth/contract';
import { Agent, fetch as undiciFetch } from 'undici';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';

// Bad input and faults of function handlers, on real VMs: two functions deployed once (a node22
// one whose event picks the misbehaviour, a python3.13 one) serve every case; after each, the
// next call must work.

const NODE = `
exports.handler = async (event) => {
  switch (event.mode) {
    case 'bigint':
      return { n: 10n };
    case 'circular': {
      const o = { name: 'loop' };
      o.self = o;
      return o;
    }
    case 'oom': {
      // Touched pages (filled), kept: past the VM's memory the guest's kernel kills the process.
      const keep = [];
      for (;;) {
        keep.push(Buffer.alloc(8 << 20, 1));
        await new Promise((r) => setImmediate(r));
      }
    }
    case 'print': {
      // 100 MiB: one 16 MiB write, then 84 of 1 MiB.
      process.stdout.write('a'.repeat(16 << 20) + '\\n');
      for (let i = 0; i < 84; i++) process.stdout.write('b'.repeat(1 << 20) + '\\n');
      console.log('printed all');
      return { printed: true };
    }
    case 'sleep':
      await new Promise((r) => setTimeout(r, event.ms));
      return { slept: event.ms };
    default:
      return { echo: event.n ?? null };
  }
};
`;

const PYTHON = `
def handler(event, context):
    mode = event.get("mode")
    if mode == "object":
        return {"value": object()}
    if mode == "nan":
        return {"value": float("nan")}
    return {"echo": event.get("n")}
`;

/** The stored log's end when an invocation printed past the cap (docs/functions.md). */
const CUT = '\n[hearth: output past 64 KiB dropped]\n';

interface Answer {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

describe('functions: bad input and faults', () => {
  let p: Platform;
  // Enough connections for the thousand calls at once (undici's default pool would queue them).
  const dispatcher = new Agent({ connections: 1100, headersTimeout: 0, bodyTimeout: 0 });

  /** One invoke through the HTTP API: status, Retry-After and the JSON body, whatever they are. */
  const invoke = async (name: string, event: unknown): Promise<Answer> => {
    const res = await undiciFetch(`${p.manager.url}/v1/functions/${name}/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.manager.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(event),
      dispatcher,
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as Record<string, unknown>,
    };
  };
  const ok = async (name: string, event: unknown) => {
    const a = await invoke(name, event);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return a.body as unknown as InvokeResult;
  };
  const metrics = (name: string) =>
    p.client.call('functionMetrics', {
      params: { name },
      query: { range: '1h' },
    } as never) as Promise<FunctionMetrics>;
  /** The VMs of the node function's instances. */
  const fnVms = async () =>
    new Set(
      (await p.client.call('listVms', { query: { limit: 500 } } as never)).items
        .filter((v) => v.name.startsWith('fn-faulty-'))
        .map((v) => v.id),
    );
  const deploy = async (body: Record<string, unknown>) => {
    const info = await p.client.call('createFunction', { body } as never);
    let v: FunctionVersion;
    do {
      v = (await p.client.call('getFunctionVersion', {
        params: { name: body.name as string, version: info.building! },
        query: { wait: 60 },
      } as never)) as FunctionVersion;
    } while (v.state === 'building');
    expect(v.error).toBeNull();
    expect(v.state).toBe('ready');
  };

  beforeAll(async () => {
    p = await startPlatform({ manager: { npmRegistry: 'http://127.0.0.1:9/' } });
    // Both built at once (each a VM boot and a snapshot).
    await Promise.all([
      deploy({
        name: 'faulty',
        runtime: 'node22',
        handler: 'index.handler',
        files: { 'index.js': NODE },
        memoryMib: 128,
        timeoutS: 90,
        concurrency: 1,
        maxInstances: 2,
        queue: 8,
        idleS: 3600,
      }),
      deploy({
        name: 'pyfault',
        runtime: 'python3.13',
        handler: 'main.handler',
        files: { 'main.py': PYTHON },
        idleS: 3600,
      }),
    ]);
  }, 1_800_000);
  afterAll(async () => {
    await p?.dispose();
    await dispatcher.close();
  });

  it('a return value JSON cannot carry is an error naming the problem; an unknown runtime is a 400', async () => {
    const big = await ok('faulty', { mode: 'bigint' });
    expect(big.status).toBe('error');
    expect(big.error).toEqual({
      type: 'ResultNotSerializable',
      message: "The handler's return value is not JSON-serializable: Do not know how to serialize a BigInt",
      stack: [],
    });
    const loop = await ok('faulty', { mode: 'circular' });
    expect(loop.status).toBe('error');
    expect(loop.error?.type).toBe('ResultNotSerializable');
    expect(loop.error?.message).toMatch(
      /^The handler's return value is not JSON-serializable: Converting circular structure to JSON[\s\S]*property 'self' closes the circle/,
    );
    expect(await ok('faulty', { n: 1 })).toMatchObject({ status: 'ok', result: { echo: 1 } });

    const obj = await ok('pyfault', { mode: 'object' });
    expect(obj.status).toBe('error');
    expect(obj.error).toEqual({
      type: 'ResultNotSerializable',
      message:
        "The handler's return value is not JSON-serializable: Object of type object is not JSON serializable",
      stack: [],
    });
    // NaN is no JSON: it must not reach the manager as an answer line it cannot parse.
    const nan = await ok('pyfault', { mode: 'nan' });
    expect(nan.error).toMatchObject({ type: 'ResultNotSerializable' });
    expect(nan.error?.message).toContain('Out of range float values are not JSON compliant');
    expect(await ok('pyfault', { n: 2 })).toMatchObject({ status: 'ok', result: { echo: 2 } });

    const res = await fetch(`${p.manager.url}/v1/functions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.manager.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'cobol',
        runtime: 'cobol85',
        handler: 'main.handler',
        files: { 'main.cbl': '' },
      }),
    });
    expect(res.status).toBe(400);
    const bad = (await res.json()) as { error: { code: string; fields?: Record<string, string[]> } };
    expect(bad.error.code).toBe('VALIDATION_FAILED');
    expect(Object.keys(bad.error.fields ?? {})).toContain('runtime');
  }, 600_000);

  it('100 MiB printed: the call completes, its log is capped with the marker, the manager stays small', async () => {
    const rss0 = process.memoryUsage().rss;
    const out = await ok('faulty', { mode: 'print' });
    const rssGrowth = process.memoryUsage().rss - rss0;
    expect(out).toMatchObject({ status: 'ok', result: { printed: true } });
    // The answer carries the tail: the marker ends it, nothing printed after the cap.
    expect(out.logs.endsWith(CUT)).toBe(true);
    expect(out.logs).not.toContain('printed all');
    const stored = await p.client.call('functionLogs', {
      params: { name: 'faulty' },
      query: { requestId: out.requestId },
    } as never);
    expect(stored.items).toHaveLength(1);
    const log = stored.items[0]!.logs;
    expect(log).toHaveLength(64 * 1024 + CUT.length);
    expect(log.startsWith('aaaa')).toBe(true);
    expect(log.endsWith(CUT)).toBe(true);
    // Roughly: the 100 MiB never passed through the manager (this process).
    console.log(`print: manager RSS grew ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    expect(rssGrowth).toBeLessThan(64 * 2 ** 20);
    const next = await ok('faulty', { n: 3 });
    expect(next).toMatchObject({ status: 'ok', result: { echo: 3 }, logs: '' });
  }, 600_000);

  it('a handler past its memory fails with FUNCTION_OUT_OF_MEMORY; calls elsewhere go on; its instance is recycled', async () => {
    // Two instances up (concurrency 1: two calls at once need both), their VMs noted.
    await Promise.all([ok('faulty', { mode: 'sleep', ms: 500 }), ok('faulty', { mode: 'sleep', ms: 500 })]);
    await until('two instances', async () => (await metrics('faulty')).instances === 2, 300_000);
    const before = await fnVms();
    expect(before.size).toBe(2);
    const [oom, other, py] = await Promise.all([
      invoke('faulty', { mode: 'oom' }),
      // concurrency 1: this one runs on the function's other instance while the first dies.
      invoke('faulty', { mode: 'sleep', ms: 2000 }),
      invoke('pyfault', { n: 4 }),
    ]);
    expect(oom.status, JSON.stringify(oom.body)).toBe(502);
    expect(oom.body).toEqual({
      error: {
        code: 'FUNCTION_OUT_OF_MEMORY',
        message:
          'Invoking function "faulty" failed: the handler ran out of memory (memoryMib 128) and was killed; its instance was recycled.',
        hint: errorCatalogue.FUNCTION_OUT_OF_MEMORY.hint,
        detail: { requestId: expect.any(String), memoryMib: 128 },
        requestId: expect.any(String),
      },
    });
    expect(other.status).toBe(200);
    expect(other.body).toMatchObject({ status: 'ok', result: { slept: 2000 } });
    expect(py.body).toMatchObject({ status: 'ok', result: { echo: 4 } });
    // The instance that ran out is removed; the other one stays and serves.
    await until(
      'the instance that ran out of memory is removed',
      async () => {
        const now = await fnVms();
        return [...before].filter((id) => now.has(id)).length === 1;
      },
      300_000,
    );
    const [a, b] = await Promise.all([
      ok('faulty', { mode: 'sleep', ms: 500 }),
      ok('faulty', { mode: 'sleep', ms: 500 }),
    ]);
    expect([a.result, b.result]).toEqual([{ slept: 500 }, { slept: 500 }]);
  }, 900_000);

  it('1,000 calls at once on maxInstances 2: each answered, 200 or 429 with Retry-After, and the metrics agree', async () => {
    const m0 = await metrics('faulty');
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, n) =>
        invoke('faulty', { n }).catch((e: Error): Answer => ({
          status: 0,
          retryAfter: null,
          body: { error: `${e.message}: ${String((e.cause as Error | undefined)?.message ?? '')}` },
        })),
      ),
    );
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    console.log(`1000 calls: ${JSON.stringify(Object.fromEntries(byStatus))}`);
    const failed = answers.filter((a) => a.status !== 200 && a.status !== 429);
    expect(failed.slice(0, 3).map((a) => a.body)).toEqual([]);
    const done = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(done.length + refused.length).toBe(1000);
    expect(done.length).toBeGreaterThanOrEqual(10);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of done)
      expect(a.body).toMatchObject({ status: 'ok', result: { echo: expect.any(Number) } });
    for (const a of refused) {
      expect(a.retryAfter).toBe('1');
      expect((a.body.error as { code: string }).code).toBe('FUNCTION_THROTTLED');
      expect((a.body.error as { message: string }).message).toMatch(
        /^Invoking function "faulty" was refused: 2 instance\(s\) busy and \d+ invocation\(s\) queued\.$/,
      );
    }
    // Every event answered once: the numbers the handler echoed are those sent.
    const echoed = new Set(done.map((a) => (a.body.result as { echo: number }).echo));
    expect(echoed.size).toBe(done.length);
    const m1 = await metrics('faulty');
    expect(m1.invocations - m0.invocations).toBe(done.length);
    expect(m1.throttles - m0.throttles).toBe(refused.length);
    expect(m1.concurrent).toBe(0);
    expect(await ok('faulty', { n: 5 })).toMatchObject({ status: 'ok', result: { echo: 5 } });
  }, 900_000);

  it('the agent restarted mid-invocation: the caller gets FUNCTION_INSTANCE_FAILED, not a hang; the function works after', async () => {
    // Two instances: one takes the long call, the other is idle while its agent restarts.
    await Promise.all([ok('faulty', { mode: 'sleep', ms: 500 }), ok('faulty', { mode: 'sleep', ms: 500 })]);
    await until('two instances', async () => (await metrics('faulty')).instances === 2, 300_000);
    const vms0 = await fnVms();
    const call = invoke('faulty', { mode: 'sleep', ms: 600_000 });
    await until('the invocation is running', async () => (await metrics('faulty')).concurrent === 1, 120_000);
    await p.agent!.dispose();
    await p.startAgent();
    const a = await call;
    expect(a.status, JSON.stringify(a.body)).toBe(502);
    const err = a.body.error as { code: string; message: string; hint: string };
    expect(err.code).toBe('FUNCTION_INSTANCE_FAILED');
    expect(err.message).toMatch(
      /^Invoking function "faulty" failed: its instance stopped answering \(.+\); it was recycled\.$/,
    );
    expect(err.hint).toBe(errorCatalogue.FUNCTION_INSTANCE_FAILED.hint);
    // The idle instance's stream broke with the agent too: the next call reopens it.
    expect(await ok('faulty', { n: 6 })).toMatchObject({ status: 'ok', result: { echo: 6 } });
    expect(await ok('faulty', { n: 7 })).toMatchObject({ status: 'ok', result: { echo: 7 } });
    // The instance whose call broke is removed, its VM too, though the agent was away then.
    await until(
      'the broken instance is removed',
      async () => {
        const now = await fnVms();
        return [...vms0].filter((id) => now.has(id)).length === 1;
      },
      300_000,
    );
    console.log(
      `agent restart: instance VMs ${[...vms0].join(',')} before, ${[...(await fnVms())].join(',')} after`,
    );
  }, 1_200_000);
});
