// Runs every bench script that covers a row of the performance table, each as a child process
// with a time budget, collects their `BENCH-ROW {json}` lines and writes the table block of
// docs/performance.md (between its markers; the prose around it is left as it is).
//
// Usage: npm run bench [-- --quick] [--only boot.ts,api.ts] [--out FILE] [--budget SECONDS]
//   --quick   small counts (a smoke run); prints the block and writes a file only with --out
//   --only    run these scripts only (comma-separated file names under bench/)
//   --out     the document to write (default docs/performance.md; none for --quick)
//   --budget  the whole run's deadline in seconds (default 900: the table must take < 15 min);
//             a script gets its own budget (bench/plans.ts) cut to what is left of the run
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import * as prettier from 'prettier';
import { sweepLeftovers } from '@hearth/agent';
import { agentHostId, killLeftoverVmms } from '../test/helpers/platform.ts';
import { describeMachine } from './machine.ts';
import { parseRows, renderBlock, spliceBlock, type ScriptRun } from './perf-doc.ts';
import { PLANS, TOTAL_BUDGET_S, budgetFor, type Plan } from './plans.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function opt(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? null) : null;
}

const quick = process.argv.includes('--quick');
const only = opt('only')?.split(',').filter(Boolean) ?? null;
const out = opt('out') ?? (quick ? null : 'docs/performance.md');
const totalBudget = Number(opt('budget') ?? TOTAL_BUDGET_S);
const userArgs = process.argv.slice(2).join(' ');
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${userArgs ? ` -- ${userArgs}` : ''}`
    : `node --import tsx bench/run-all.ts${userArgs ? ` ${userArgs}` : ''}`;

if (only) {
  const unknown = only.filter((s) => !PLANS.some((p) => p.script === s));
  if (unknown.length) {
    console.error(
      `run-all: no plan for ${unknown.join(', ')}; known: ${PLANS.map((p) => p.script).join(', ')}`,
    );
    process.exit(2);
  }
}

/**
 * Kills every process whose working directory is under `tmp`: a VMM launched just before its
 * script was stopped (a pool refill) may not have written the pid file the sweep reads yet, and
 * VMMs run detached, so stopping the script's process group leaves them running.
 */
async function killRunningIn(tmp: string): Promise<void> {
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (!cwd.startsWith(`${tmp}/`)) continue;
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Kills the VMMs and removes the links a stopped script's platforms left behind (their dirs are
 * under `tmp`); a script that handles SIGTERM (`disposeOnSignal`) has cleaned up already.
 */
async function sweep(tmp: string): Promise<void> {
  await killRunningIn(tmp);
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith('hearth-test-')) continue;
    const dir = join(tmp, name);
    await killLeftoverVmms(dir);
    // The networks and TAPs its agent labelled as its own.
    const owner = await agentHostId(dir);
    if (owner) {
      await sweepLeftovers({
        owners: [owner],
        runningVms: new Set(),
        networksInUse: new Set(),
        keepBridges: new Set(),
        log: pino({ level: 'silent' }),
      }).catch(() => undefined);
    }
  }
  await rm(tmp, { recursive: true, force: true });
}

async function runScript(plan: Plan, budgetS: number, cut: boolean): Promise<ScriptRun> {
  const path = join(ROOT, 'bench', plan.script);
  if (!existsSync(path)) return { script: plan.script, outcome: 'absent', seconds: 0, rows: [] };
  // Its own temporary directory: whatever its platforms leave there can be found and swept.
  const tmp = await mkdtemp('/tmp/hb-');
  const args = quick ? ['--quick', ...plan.quick] : plan.args;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: tmp },
    // Its own process group, so a script over budget is stopped with everything it spawned.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let lastErr = '';
  const tag = `[${plan.script}] `;
  const relay = (chunk: Buffer, to: NodeJS.WriteStream) => {
    const text = chunk.toString();
    to.write(
      text
        .split('\n')
        .map((l, i, a) => (i === a.length - 1 && l === '' ? '' : tag + l))
        .join('\n'),
    );
    return text;
  };
  child.stdout.on('data', (d: Buffer) => (stdout += relay(d, process.stdout)));
  child.stderr.on('data', (d: Buffer) => {
    const text = relay(d, process.stderr);
    const last = text.trim().split('\n').pop();
    if (last) lastErr = last.slice(0, 200);
  });
  let timedOut = false;
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  // SIGTERM first (a script's platform may get to clean up), SIGKILL 15 s later.
  const term = setTimeout(() => {
    timedOut = true;
    kill('SIGTERM');
  }, budgetS * 1000);
  const hard = setTimeout(() => kill('SIGKILL'), budgetS * 1000 + 15_000);
  const code = await new Promise<number | null>((r) => {
    child.once('close', (c) => r(c));
    child.once('error', () => r(null));
  });
  clearTimeout(term);
  clearTimeout(hard);
  kill('SIGKILL');
  await sweep(tmp);
  const seconds = (performance.now() - t0) / 1000;
  const { rows, bad } = parseRows(stdout);
  for (const line of bad) console.error(`run-all: ${plan.script} printed a malformed row: ${line}`);
  if (timedOut)
    return {
      script: plan.script,
      outcome: 'timeout',
      seconds,
      detail: cut
        ? `stopped after ${budgetS} s, all that was left of the run's ${totalBudget} s`
        : `stopped after its budget of ${budgetS} s`,
      rows,
    };
  if (code !== 0) {
    return {
      script: plan.script,
      outcome: 'failed',
      seconds,
      detail: `exit ${code}${lastErr ? `: ${lastErr}` : ''}`,
      rows,
    };
  }
  return { script: plan.script, outcome: 'ok', seconds, rows };
}

const started = performance.now();
const runs: ScriptRun[] = [];
for (const plan of PLANS.filter((p) => !only || only.includes(p.script))) {
  const left = totalBudget - (performance.now() - started) / 1000;
  const budget = budgetFor(plan, left, quick);
  const cut = budget < budgetFor(plan, Infinity, quick);
  if (budget < 30) {
    runs.push({
      script: plan.script,
      outcome: 'skipped',
      seconds: 0,
      detail: `the run's ${totalBudget} s were spent (${Math.max(0, Math.round(left))} s left)`,
      rows: [],
    });
    console.log(`run-all: bench/${plan.script}: skipped, the run's deadline is near`);
    continue;
  }
  console.log(`run-all: bench/${plan.script} (budget ${budget} s${cut ? ', cut to the run deadline' : ''})`);
  const run = await runScript(plan, budget, cut);
  console.log(
    `run-all: bench/${plan.script}: ${run.outcome}, ${run.rows.length} rows, ${run.seconds.toFixed(0)} s`,
  );
  runs.push(run);
}

const block = renderBlock({
  runs,
  machine: await describeMachine(),
  date: new Date(),
  command,
  totalSeconds: (performance.now() - started) / 1000,
});
if (out) {
  const file = resolve(ROOT, out);
  const doc = await readFile(file, 'utf8').catch(() => '');
  // Formatted as the repository's checks expect, so a fresh table never fails `prettier --check`.
  const options = (await prettier.resolveConfig(file)) ?? {};
  await writeFile(file, await prettier.format(spliceBlock(doc, block), { ...options, filepath: file }));
  console.log(`run-all: wrote the table to ${out}`);
} else console.log(`\n${block}`);
const failed = runs.filter((r) => r.outcome === 'failed' || r.outcome === 'timeout');
process.exit(failed.length || runs.every((r) => r.rows.length === 0) ? 1 : 0);
