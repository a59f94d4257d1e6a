// Where a `start: false` create's CPU goes on this machine, and the most the same statements allow.
// Three servers answer the same POST /v1/vms from a client in its own process (as users' clients
// are: Node's `fetch`, then ApacheBench when installed, a lighter client written in C), each for a
// few rounds of creates from several callers at once:
//   api          the manager itself (PostgreSQL);
//   raw          the statements one create sent through the manager, captured, then replayed as they
//                are (no query builder, no checks, its transaction rolled back) behind a bare HTTP
//                route: named (prepared) statements, then unnamed;
//   http         the bare route answering without a statement.
// For each: creates/s, and the machine's CPU per create split into the server's process, the
// client's and PostgreSQL's backends. Not part of `npm run bench`: it explains one row.
// Usage: npm run bench:create-floor -- [--creates 220]
//   [--callers 8] [--rounds 3] [--show (prints the statements captured)]
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import pg from 'pg';
import { runAgentProcess, startPlatform } from '../test/helpers/platform.ts';
import { testPgUrl } from '../test/helpers/pg.ts';
import { abPost, hasAb } from './ab.ts';
import { cpuByProcess, cpuSpentByCommand, cpuTicks } from './host-stats.ts';
import { arg } from './lib.ts';

// The default /24 network holds 253 addresses: a round of API creates stays below that.
const creates = arg('creates', 220);
const callers = arg('callers', 8);
const rounds = arg('rounds', 3);

interface ClientRun {
  rate: number;
  cpuMs: number;
  ids: string[];
}

if (process.argv[2] === 'client') {
  // The client: `creates` POSTs from `callers` at once, each one at a time.
  const { URL: url, TOKEN: token } = process.env;
  const ids: string[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = next++; i < creates; i = next++) {
        const res = await fetch(`${url}/v1/vms`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ name: `floor-${i}`, start: false }),
        });
        if (!res.ok) throw new Error(`create answered ${res.status}: ${await res.text()}`);
        ids.push(((await res.json()) as { id: string }).id);
      }
    }),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const out: ClientRun = {
    rate: creates / (ms / 1000),
    cpuMs: (cpu.user + cpu.system) / 1000 / creates,
    ids,
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** The Node client (this file as `client`) in its own process: Node's `fetch`, keep-alive. */
function nodeClient(url: string, token: string): Promise<ClientRun> {
  return new Promise<ClientRun>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL(import.meta.url).pathname, 'client', ...process.argv.slice(2)],
      { env: { ...process.env, URL: url, TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(text.trim().split('\n').pop()!) as ClientRun)
        : reject(new Error(`the client exited ${code}`)),
    );
  });
}

/** One round: a client against `url`; this process's, the client's and PostgreSQL's CPU per create. */
async function round(label: string, client: () => Promise<ClientRun>): Promise<ClientRun> {
  const procs0 = await cpuByProcess();
  const ticks0 = await cpuTicks();
  const cpu0 = process.cpuUsage();
  const run = await client();
  const cpu = process.cpuUsage(cpu0);
  const ticks1 = await cpuTicks();
  const postgres =
    cpuSpentByCommand(procs0, await cpuByProcess()).find(([comm]) => comm === 'postgres')?.[1] ?? 0;
  const server = (cpu.user + cpu.system) / 1000 / creates;
  const busy = (100 * (ticks1.busy - ticks0.busy)) / Math.max(1, ticks1.total - ticks0.total);
  console.log(
    `${label.padEnd(18)} ${run.rate.toFixed(0).padStart(4)} creates/s  CPU per create: server ${server.toFixed(2)} ms, ` +
      `client ${run.cpuMs.toFixed(2)} ms, PostgreSQL ${(postgres / creates).toFixed(2)} ms; machine ${busy.toFixed(0)} % busy`,
  );
  return run;
}

const base = testPgUrl();
if (!base) throw new Error('needs PostgreSQL: run through scripts/with-pg.sh');

// Every statement the manager's connections send, recorded while `recording`; patched before the
// platform opens its pool so that its connections' (named-statement) wrappers call this.
const sent: { text: string; values: unknown[] }[] = [];
let recording = false;
const inCreate = new AsyncLocalStorage<boolean>();
const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: unknown }).query = function (this: pg.Client, ...a: unknown[]) {
  const q = a[0] as string | { text: string; values?: unknown[] };
  if (recording && inCreate.getStore()) {
    const text = typeof q === 'string' ? q : q.text;
    sent.push({ text, values: Array.isArray(a[1]) ? a[1] : typeof q === 'string' ? [] : (q.values ?? []) });
  }
  return query.apply(this, a);
};

const p = await startPlatform({ db: 'postgres', agent: false });
const agent = runAgentProcess(p, `test-${p.net.bridge}`);
const raw = new pg.Pool({ connectionString: p.databaseUrl!, max: 10 });
const bare = Fastify();
try {
  await agent.waitFor('agent registered');
  const token = p.adminToken;
  const clear = async (ids: string[]) => {
    for (const id of ids) await p.client.call('deleteVm', { params: { id } });
    await p.manager.vmService.drain();
  };
  console.log(
    `${creates} creates per round from ${callers} callers at once; the first round of each warms up`,
  );
  for (let r = 0; r < rounds; r++)
    await clear((await round(r ? 'api' : 'api (warm-up)', () => nodeClient(p.manager.url, token))).ids);
  const abBody = join(p.dir, 'floor-body.json');
  await writeFile(abBody, JSON.stringify({ start: false }));
  const ab = (url: string) => async (): Promise<ClientRun> => ({
    ...(await abPost({ url: `${url}/v1/vms`, token, bodyFile: abBody, n: creates, callers })),
    ids: [],
  });
  const withAb = await hasAb();
  if (!withAb) console.log('ab (apache2-utils) is not installed: the rounds with a C client are skipped');
  for (let r = 0; withAb && r < rounds; r++) {
    await round(r ? 'api, ab' : 'api, ab (warm-up)', ab(p.manager.url));
    await clear((await p.client.all('listVms')).map((vm) => vm.id));
  }

  // One create's statements: those sent in the create request's own async context (its answer's
  // follow-ups, the event's notification and webhook read, included), none of the heartbeats' or
  // the background work's beside it. The follow-ups end within a moment on an idle platform.
  p.manager.app.server.prependListener('request', (req: IncomingMessage) =>
    inCreate.enterWith(req.method === 'POST' && req.url === '/v1/vms'),
  );
  recording = true;
  const one = await p.client.call('createVm', { body: { name: 'floor-captured', start: false } });
  await new Promise((r) => setTimeout(r, 1000));
  recording = false;
  await clear([one.id]);
  const statements = sent;
  const begin = statements.findIndex((s) => /^begin$/i.test(s.text));
  const commit = statements.findIndex((s) => /^commit$/i.test(s.text));
  if (begin < 0 || commit < begin) throw new Error('no transaction among the captured statements');
  console.log(`captured: ${statements.length} statements (${commit - begin - 1} inside the transaction)`);
  if (process.argv.includes('--show'))
    for (const s of statements) console.log(`  ${s.text.replace(/\s+/g, ' ').slice(0, 110)}`);

  // Ids the create generated are replaced per replay (unique keys); other values are sent as captured.
  const generated = /^(vm|evt|aud)_[0-9A-Za-z]{10,}$/;
  let replays = 0;
  let named = true;
  let bareOnly = false;
  const run = async (
    c: pg.Pool | pg.PoolClient,
    i: number,
    s: { text: string; values: unknown[] },
    fresh: Map<string, string>,
  ) => {
    const values = s.values.map((v) => {
      if (typeof v !== 'string' || !generated.test(v)) return v;
      if (!fresh.has(v)) fresh.set(v, `${v.slice(0, -10)}${(++replays).toString(36).padStart(10, '0')}`);
      return fresh.get(v);
    });
    await c.query(
      named && values.length ? { name: `floor_${i}`, text: s.text, values } : { text: s.text, values },
    );
  };
  bare.post('/v1/vms', async (req, reply) => {
    const fresh = new Map<string, string>();
    if (req.headers['x-bare']) return reply.code(201).send({ id: 'vm_bare' });
    for (let i = 0; i < begin; i++) await run(raw, i, statements[i]!, fresh);
    const c = await raw.connect();
    try {
      await c.query('BEGIN');
      for (let i = begin + 1; i < commit; i++) await run(c, i, statements[i]!, fresh);
      // The audit row and the rest after the commit go in too, so that nothing stays behind.
      for (let i = commit + 1; i < statements.length; i++) await run(c, i, statements[i]!, fresh);
      await c.query('ROLLBACK');
    } finally {
      c.release();
    }
    return reply.code(201).send({ id: 'vm_replayed' });
  });
  bare.addHook('onRequest', async (req) => {
    if (bareOnly) req.headers['x-bare'] = '1';
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}`;
  for (const mode of ['named', 'unnamed'] as const) {
    named = mode === 'named';
    for (let r = 0; r < rounds; r++)
      await round(r ? `raw, ${mode}` : `raw (warm-up)`, () => nodeClient(url, token));
    for (let r = 0; withAb && mode === 'named' && r < rounds; r++)
      await round(r ? `raw, ${mode}, ab` : `raw, ab (warm-up)`, ab(url));
  }
  bareOnly = true;
  for (let r = 0; r < rounds; r++) await round(r ? 'http' : 'http (warm-up)', () => nodeClient(url, token));
  for (let r = 0; withAb && r < rounds; r++) await round(r ? 'http, ab' : 'http, ab (warm-up)', ab(url));
} finally {
  await bare.close();
  await raw.end();
  await agent.kill();
  await p.dispose();
}
