import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FunctionInfo,
  type FunctionMetrics,
  type FunctionVersion,
  type Invocation,
  type InvokeResult,
} from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';
import { cli } from '../helpers/proc.ts';
import { NODE_SYNTAX, NODE_V1, NODE_V2, PYTHON, RUBY, tarGz } from '../helpers/function-sources.ts';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Serverless functions on real VMs, one platform for the file: each deploy boots a VM of the
// runtime, loads the handler and snapshots it; invocations run on instances restored from it.

describe('functions: node22, python3.13 and ruby3 handlers on snapshot-restored instances', () => {
  let p: Platform;
  const fnCall = async (name: string, event: unknown, query: Record<string, unknown> = {}) =>
    (await p.client.call('invokeFunction', {
      params: { name },
      body: event,
      query,
    } as never)) as InvokeResult;
  const info = (name: string) =>
    p.client.call('getFunction', { params: { name }, query: {} }) as Promise<FunctionInfo>;

  /** The started version, once it is no longer building. */
  const built = async (name: string, f: Promise<FunctionInfo>): Promise<FunctionVersion> => {
    const info = await f;
    for (;;) {
      const v = await p.client.call('getFunctionVersion', {
        params: { name, version: info.building! },
        query: { wait: 60 },
      } as never);
      if (v.state !== 'building') return v;
    }
  };
  const ready = async (name: string, f: Promise<FunctionInfo>) => {
    const v = await built(name, f);
    expect(v.error).toBeNull();
    expect(v.state).toBe('ready');
    return v;
  };

  beforeAll(async () => {
    // node22 dependencies come from npm's cache only: the registry is a closed loopback port.
    p = await startPlatform({ manager: { npmRegistry: 'http://127.0.0.1:9/' } });
  }, 300_000);
  afterAll(async () => {
    await p?.dispose();
  });

  it('node22: deploy, a cold then a warm invoke with logs by request id, a thrown error with its stack', async () => {
    const v1 = await ready(
      'hello',
      p.client.call('createFunction', {
        body: {
          name: 'hello',
          runtime: 'node22',
          handler: 'index.handler',
          files: { 'index.js': NODE_V1 },
          timeoutS: 10,
          idleS: 600,
          memoryMib: 128,
          concurrency: 4,
        },
      } as never),
    );
    expect(v1.version).toBe(1);
    expect((await info('hello')).aliases).toEqual({ live: 1 });

    const first = await fnCall('hello', { n: 21 });
    expect(first).toMatchObject({
      status: 'ok',
      result: { version: 1, doubled: 42 },
      cold: true,
      version: 1,
    });
    expect(first.logs).toContain(`handling ${first.requestId}`);
    const second = await fnCall('hello', { n: 5 });
    expect(second).toMatchObject({ status: 'ok', result: { doubled: 10 }, cold: false });
    console.log(
      `node22: cold invoke ${first.totalMs.toFixed(0)} ms, warm ${second.totalMs.toFixed(1)} ms (handler ${second.durationMs.toFixed(2)} ms)`,
    );

    const logs = await p.client.call('functionLogs', {
      params: { name: 'hello' },
      query: { requestId: second.requestId },
    } as never);
    expect(logs.items).toHaveLength(1);
    expect(logs.items[0]!.logs).toContain(second.requestId);

    // Two calls at once on the one instance (concurrency 4): the first answers only after the
    // second ran, so they overlap on the instance's stream; each log is its own.
    const [waited, opened] = await Promise.all([
      fnCall('hello', { gate: 'wait', n: 1 }),
      fnCall('hello', { gate: 'open', n: 2 }),
    ]);
    expect(waited).toMatchObject({ status: 'ok', result: { doubled: 2 }, cold: false });
    expect(opened).toMatchObject({ status: 'ok', result: { doubled: 4 }, cold: false });
    expect(waited.logs).toBe(`handling ${waited.requestId}\n`);
    expect(opened.logs).toBe(`handling ${opened.requestId}\n`);
    expect((await info('hello')).instances).toBe(1);

    const thrown = await fnCall('hello', { action: 'throw', why: 'x' });
    expect(thrown.status).toBe('error');
    expect(thrown.error).toMatchObject({ type: 'TypeError', message: 'bad input: x' });
    expect(thrown.error!.stack.join('\n')).toMatch(/\/var\/task\/index\.js:8/);
    // The same warm instance goes on serving.
    expect(await fnCall('hello', { n: 1 })).toMatchObject({ status: 'ok', cold: false });
  }, 1_800_000);

  it('asynchronous invoke answers at once with a result URL; metrics count invocations, errors and cold starts', async () => {
    const accepted = (await p.client.call('invokeFunctionAsync', {
      params: { name: 'hello' },
      body: { n: 50 },
      query: {},
    } as never)) as Invocation;
    expect(accepted.resultUrl).toContain(`/v1/functions/hello/invocations/${accepted.requestId}`);
    let inv = accepted;
    while (inv.state === 'pending') {
      inv = (await p.client.call('getInvocation', {
        params: { name: 'hello', requestId: accepted.requestId },
        query: { wait: 30 },
      } as never)) as Invocation;
    }
    expect(inv).toMatchObject({ state: 'done', result: { status: 'ok', result: { doubled: 100 } } });
    const unknown = await p.client
      .call('getInvocation', { params: { name: 'hello', requestId: 'nope' }, query: {} } as never)
      .catch((e: { code?: string }) => e);
    expect((unknown as { code?: string }).code).toBe('FUNCTION_INVOCATION_NOT_FOUND');

    const m = (await p.client.call('functionMetrics', {
      params: { name: 'hello' },
      query: { range: '1h' },
    } as never)) as FunctionMetrics;
    // The first test made 6 calls (1 cold, 1 error); this one 1 more.
    expect(m).toMatchObject({
      range: '1h',
      invocations: 7,
      errors: 1,
      timeouts: 0,
      coldStarts: 1,
      throttles: 0,
    });
    expect(m.durationMs.p50).not.toBeNull();
    expect(m.durationMs.p99!).toBeGreaterThanOrEqual(m.durationMs.p50!);
    expect(m.instances).toBe(1);
  }, 300_000);

  it('an archive with a package.json dependency installed at build time; minInstances keeps one restored ahead of need', async () => {
    const root = JSON.parse(await readFile(join(import.meta.dirname, '../../package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string; integrity: string }>;
    };
    const ms = root.packages['node_modules/ms']!;
    const dir = await mkdtemp(join(tmpdir(), 'fn-archive-'));
    try {
      await mkdir(join(dir, 'src'));
      await writeFile(
        join(dir, 'src/app.js'),
        "const ms = require('ms');\nexports.handler = async (event) => ({ ms: ms(event.span) });\n",
      );
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'deps', dependencies: { ms: ms.version } }),
      );
      await writeFile(
        join(dir, 'package-lock.json'),
        JSON.stringify({
          name: 'deps',
          lockfileVersion: 3,
          requires: true,
          packages: {
            '': { name: 'deps', dependencies: { ms: ms.version } },
            'node_modules/ms': {
              version: ms.version,
              resolved: `https://registry.npmjs.org/ms/-/ms-${ms.version}.tgz`,
              integrity: ms.integrity,
            },
          },
        }),
      );
      const archive = await tarGz(dir, ['src', 'package.json', 'package-lock.json']);
      await ready(
        'deps',
        p.client.call('createFunction', {
          body: {
            name: 'deps',
            runtime: 'node22',
            handler: 'src/app.handler',
            archive,
            minInstances: 1,
            idleS: 600,
          },
        } as never),
      );
      await until(
        'an instance restored ahead of need',
        async () => (await info('deps')).instances === 1,
        600_000,
      );
      const out = await fnCall('deps', { span: '2h' });
      expect(out).toMatchObject({ status: 'ok', result: { ms: 7_200_000 }, cold: false });
      const bad = await p.client
        .call('deployFunction', {
          params: { name: 'deps' },
          body: { runtime: 'node22', handler: 'src/app.handler', archive: 'bm90IGEgdGFyYmFsbA==' },
        } as never)
        .catch((e: { code?: string }) => e);
      expect((bad as { code?: string }).code).toBe('FUNCTION_ARCHIVE_INVALID');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await p.client.call('deleteFunction', { params: { name: 'deps' }, query: {} } as never).catch(() => {});
    }
  }, 1_200_000);

  it('a syntax error fails the deploy with the runtime message and line; live stays on the last good version', async () => {
    const v = await built(
      'hello',
      p.client.call('deployFunction', {
        params: { name: 'hello' },
        body: { runtime: 'node22', handler: 'index.handler', files: { 'index.js': NODE_SYNTAX } },
      } as never),
    );
    expect(v.state).toBe('failed');
    expect(v.error).toContain('SyntaxError');
    expect(v.error).toContain('index.js:2');
    expect((await info('hello')).aliases).toEqual({ live: 1 });
    const versions = await p.client.call('listFunctionVersions', {
      params: { name: 'hello' },
      query: {},
    } as never);
    expect(versions.items.map((v) => [v.version, v.state])).toEqual([
      [2, 'failed'],
      [1, 'ready'],
    ]);
  }, 1_800_000);

  it('a runaway invocation times out and its instance is recycled; the next call restores a new one', async () => {
    const out = await fnCall('hello', { action: 'spin' });
    expect(out.status).toBe('timeout');
    expect(out.error?.type).toBe('Timeout');
    const next = await fnCall('hello', { n: 2 });
    expect(next).toMatchObject({ status: 'ok', result: { doubled: 4 }, cold: true });
  }, 1_800_000);

  it('the HTTP trigger maps the request to the event and the handler answer to HTTP; a token is needed', async () => {
    const url = `${p.manager.url}/fn/${(await info('hello')).project}/hello/items/7?x=1&y=2`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${p.manager.adminToken}`, 'content-type': 'text/plain' },
      body: 'payload',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-fn')).toBe('yes');
    expect(res.headers.get('x-hearth-request-id')).toBeTruthy();
    expect(await res.json()).toEqual({
      method: 'POST',
      path: '/items/7',
      q: { x: '1', y: '2' },
      body: 'payload',
    });
    const anon = await fetch(url, { method: 'GET' });
    expect(anon.status).toBe(401);
  }, 600_000);

  it('rollback moves live back; idle instances scale to zero and the next call restores from the snapshot', async () => {
    await ready(
      'hello',
      p.client.call('deployFunction', {
        params: { name: 'hello' },
        body: { runtime: 'node22', handler: 'index.handler', files: { 'index.js': NODE_V2 }, idleS: 2 },
      } as never),
    );
    expect((await info('hello')).aliases).toEqual({ live: 3 });
    expect(await fnCall('hello', { n: 2 })).toMatchObject({
      status: 'ok',
      result: { version: 2, tripled: 6 },
      version: 3,
    });
    const rolled = await p.client.call('rollbackFunction', {
      params: { name: 'hello' },
      body: { version: 1 },
    } as never);
    expect(rolled.aliases).toEqual({ live: 1 });
    expect(await fnCall('hello', { n: 2 })).toMatchObject({ result: { version: 1, doubled: 4 }, version: 1 });
    // idleS 2 (the newest deploy's setting): the instance stops, its VM is removed.
    await until('instances scaled to zero', async () => (await info('hello')).instances === 0, 120_000);
    await until(
      'function VMs removed',
      async () => (await p.client.call('listVms', { query: { limit: 500 } } as never)).items.length === 0,
      120_000,
    );
    const again = await fnCall('hello', { n: 4 });
    expect(again).toMatchObject({ status: 'ok', result: { doubled: 8 }, cold: true });
    console.log(`node22: cold from zero (snapshot restore + invoke) ${again.totalMs.toFixed(0)} ms`);
  }, 1_800_000);

  it('python3.13 and ruby3 handlers run with their signatures; their errors come back with the stack', async () => {
    await ready(
      'py',
      p.client.call('createFunction', {
        body: { name: 'py', runtime: 'python3.13', handler: 'main.handler', files: { 'main.py': PYTHON } },
      } as never),
    );
    const py = await fnCall('py', { xs: [1, 2, 3] });
    expect(py).toMatchObject({ status: 'ok', result: { sum: 6, lang: 'python' } });
    expect(py.logs).toContain(`py handling ${py.requestId}`);
    const pyErr = await fnCall('py', { action: 'throw' });
    expect(pyErr.error).toMatchObject({ type: 'ZeroDivisionError' });
    expect(pyErr.error!.stack.join('\n')).toContain('/var/task/main.py", line 7');

    await ready(
      'rb',
      p.client.call('createFunction', {
        body: { name: 'rb', runtime: 'ruby3', handler: 'app.handler', files: { 'app.rb': RUBY } },
      } as never),
    );
    const rb = await fnCall('rb', { s: 'hi' });
    expect(rb).toMatchObject({ status: 'ok', result: { upcased: 'HI', lang: 'ruby' } });
    expect(rb.logs).toContain(`rb handling ${rb.requestId}`);
    const rbErr = await fnCall('rb', { action: 'throw' });
    expect(rbErr.error).toMatchObject({ type: 'ArgumentError', message: 'nope' });
    expect(rbErr.error!.stack.join('\n')).toContain('/var/task/app.rb:6');
  }, 3_600_000);

  it('the CLI deploys a folder with a secret in its environment, invokes, lists versions and logs, and removes it', async () => {
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const dir = await mkdtemp(join(tmpdir(), 'hearth-fn-'));
    try {
      const code = join(dir, 'clifn');
      await mkdir(join(code, 'lib'), { recursive: true });
      await writeFile(join(code, 'lib', 'greet.js'), 'exports.greet = (n) => `hello ${n}`;\n');
      await writeFile(
        join(code, 'index.js'),
        "const { greet } = require('./lib/greet.js');\nexports.handler = async (e) => { console.log('cli log'); return e.secret ? process.env.API_KEY : greet(e.name); };\n",
      );
      const deploy = ['fn', 'deploy', code, '--runtime', 'node22', '--handler', 'index.handler'];
      const secretEnv = ['--secret-env', 'API_KEY=fn-api-key'];
      // A secret the project lacks is refused before anything is built.
      const missing = await cli([...deploy, ...secretEnv], env);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('SECRET_NOT_FOUND');
      expect((await cli(['secret', 'set', 'fn-api-key', '--from-stdin'], env, 'k-123\n')).code).toBe(0);
      const dep = await cli([...deploy, ...secretEnv], env);
      expect(dep.code, dep.stderr).toBe(0);
      expect(dep.stdout).toContain('function clifn: version 1 is live');
      const inv = await cli(['fn', 'invoke', 'clifn', '--data', '{"name":"cli"}'], env);
      expect(inv.code, inv.stderr).toBe(0);
      expect(inv.stdout.trim()).toBe('"hello cli"');
      expect(inv.stderr).toMatch(/request [0-9a-f-]{36} · version 1 · cold/);
      const secret = await cli(['fn', 'invoke', 'clifn', '--data', '{"secret":true}'], env);
      expect(secret.stdout.trim()).toBe('"k-123"');
      // The function shows which secret, never its value.
      const shown = JSON.stringify(await info('clifn'));
      expect(shown).toContain('fn-api-key');
      expect(shown).not.toContain('k-123');
      const requestId = /request ([0-9a-f-]{36})/.exec(inv.stderr)![1]!;
      const logs = await cli(['fn', 'logs', 'clifn'], env);
      expect(logs.code, logs.stderr).toBe(0);
      expect(logs.stdout).toContain(`${requestId} v1 ok`);
      expect(logs.stdout).toContain('| cli log');
      const ls = await cli(['fn', 'ls'], env);
      expect(ls.stdout).toMatch(/clifn\s+node22\s+index\.handler\s+1/);
      const bad = await cli(['fn', 'invoke', 'clifn', '--data', 'not json'], env);
      expect(bad.code).toBe(2);
      expect((await cli(['fn', 'rm', 'clifn'], env)).code).toBe(0);
      const gone = await cli(['fn', 'invoke', 'clifn'], env);
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toContain('FUNCTION_NOT_FOUND');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 1_800_000);
});
