import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { HearthClient } from '@hearth/sdk';
import { HearthError, type FunctionVersion, type InvokeResult } from '@hearth/contract';
import { UsageError } from '../usage-error.ts';
import { table } from '../format.ts';
import { printJson } from '../output.ts';
import { act } from './vm.ts';
import { fnObserveCommands } from './fn-observe.ts';

const MAX_FILES = 100;
/** Not code: what a build makes or a checkout keeps. */
const SKIPPED = new Set(['.git', 'node_modules', '__pycache__']);

/** The regular files of a function's folder by relative path; symlinks are refused (they could point outside). */
export async function readCodeDir(dir: string): Promise<Record<string, string>> {
  const root = resolve(dir);
  const files: Record<string, string> = {};
  const walk = async (at: string): Promise<void> => {
    for (const e of await readdir(at, { withFileTypes: true })) {
      if (SKIPPED.has(e.name)) continue;
      const path = join(at, e.name);
      const st = await lstat(path);
      if (st.isSymbolicLink())
        throw new UsageError(`${path} is a symlink; functions take regular files only.`);
      if (st.isDirectory()) await walk(path);
      else if (st.isFile()) {
        if (Object.keys(files).length >= MAX_FILES)
          throw new UsageError(`${dir} has more than ${MAX_FILES} files.`);
        files[relative(root, path)] = await readFile(path, 'utf8');
      }
    }
  };
  await walk(root);
  if (!Object.keys(files).length) throw new UsageError(`${dir} has no files.`);
  return files;
}

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${v} is not a whole number`);
  return n;
};

function envOf(pairs: string[] = [], flag = '--env', form = 'NAME=VALUE'): Record<string, string> {
  return Object.fromEntries(
    pairs.map((p) => {
      const at = p.indexOf('=');
      if (at < 1) throw new UsageError(`${flag} ${p}: give ${form}`);
      return [p.slice(0, at), p.slice(at + 1)];
    }),
  );
}

interface DeployOpts {
  runtime: string;
  handler: string;
  name?: string;
  memory?: string;
  vcpus?: string;
  timeout?: string;
  concurrency?: string;
  minInstances?: string;
  maxInstances?: string;
  idle?: string;
  public?: boolean;
  env?: string[];
  secretEnv?: string[];
}

function printInvoke(out: InvokeResult): void {
  if (out.logs) process.stderr.write(out.logs.endsWith('\n') ? out.logs : `${out.logs}\n`);
  if (out.status === 'ok') {
    console.log(JSON.stringify(out.result ?? null));
  } else {
    process.stderr.write(
      `${out.error?.type}: ${out.error?.message}\n${(out.error?.stack ?? []).join('\n')}\n`,
    );
    process.exitCode = 1;
  }
  process.stderr.write(
    `request ${out.requestId} · version ${out.version} · ${out.cold ? 'cold' : 'warm'} · ${out.durationMs.toFixed(1)} ms (total ${out.totalMs.toFixed(0)} ms)\n`,
  );
}

const pq = (c: HearthClient) => (c.project ? { project: c.project } : {});

/** Long-polls a version until it is ready or failed (a first build of the runtime image can take minutes). */
export async function builtVersion(c: HearthClient, name: string, version: number): Promise<FunctionVersion> {
  for (;;) {
    const v = await c.call('getFunctionVersion', {
      params: { name, version },
      query: { ...pq(c), wait: 60 },
    } as never);
    if (v.state !== 'building') return v;
  }
}

/** `hearth fn deploy|invoke|ls|rm|versions|rollback|logs|metrics`: serverless functions. */
export function fnCommands(program: Command): void {
  const fn = program.command('fn').description('Serverless functions (Node.js, Python, Ruby handlers)');
  fn.command('deploy <dir>')
    .description("Deploy a folder's files as a new version (creates the function the first time)")
    .requiredOption('--runtime <runtime>', 'node22, python3.13 or ruby3')
    .requiredOption('--handler <module.function>', 'index.handler, main.handler, app.handler')
    .option('--name <name>', "the function's name (default: the folder's name)")
    .option('--memory <mib>', 'memory of each instance, MiB')
    .option('--vcpus <n>', 'vCPUs of each instance')
    .option('--timeout <s>', 'an invocation running longer is killed')
    .option('--concurrency <n>', 'invocations one instance serves at once')
    .option('--min-instances <n>', 'instances kept when idle')
    .option('--max-instances <n>', 'instances at most')
    .option('--idle <s>', 'idle time before an instance stops')
    .option('--public', 'the HTTP trigger answers without a token')
    .option('--env <NAME=VALUE...>', 'environment of the handler')
    .option('--secret-env <VAR=SECRET...>', 'a variable whose value is the project secret SECRET')
    .action(
      act(program, async (c, json, dir: string, o: DeployOpts) => {
        const files = await readCodeDir(dir);
        const name = o.name ?? basename(resolve(dir));
        const settings = {
          ...(o.memory ? { memoryMib: int(o.memory) } : {}),
          ...(o.vcpus ? { vcpus: int(o.vcpus) } : {}),
          ...(o.timeout ? { timeoutS: int(o.timeout) } : {}),
          ...(o.concurrency ? { concurrency: int(o.concurrency) } : {}),
          ...(o.minInstances ? { minInstances: int(o.minInstances) } : {}),
          ...(o.maxInstances ? { maxInstances: int(o.maxInstances) } : {}),
          ...(o.idle ? { idleS: int(o.idle) } : {}),
          ...(o.public ? { public: true } : {}),
          ...(o.env ? { env: envOf(o.env) } : {}),
          ...(o.secretEnv ? { secretEnv: envOf(o.secretEnv, '--secret-env', 'VAR=SECRET') } : {}),
        };
        const code = { runtime: o.runtime, handler: o.handler, files };
        const exists = await c.call('getFunction', { params: { name }, query: pq(c) }).then(
          () => true,
          (e: unknown) => {
            if (e instanceof HearthError && e.code === 'FUNCTION_NOT_FOUND') return false;
            throw e;
          },
        );
        const f = exists
          ? await c.call('deployFunction', {
              params: { name },
              query: pq(c),
              body: { ...code, ...settings },
            } as never)
          : await c.call('createFunction', { body: { name, ...pq(c), ...code, ...settings } } as never);
        const v = await builtVersion(c, name, f.building!);
        if (json) return printJson(v);
        if (v.state === 'failed') {
          process.stderr.write(`error: version ${v.version} failed to load\n${v.error ?? ''}\n`);
          process.exitCode = 1;
          return;
        }
        console.log(`function ${name}: version ${v.version} is live (${v.runtime}, ${v.handler})`);
      }),
    );
  fn.command('invoke <name>')
    .description('Run the handler with a JSON event; prints its result (logs and timing on stderr)')
    .option('--data <json>', 'the event', '{}')
    .option('--qualifier <version>', 'a version number instead of the live alias')
    .action(
      act(program, async (c, json, name: string, o: { data: string; qualifier?: string }) => {
        let event: unknown;
        try {
          event = JSON.parse(o.data);
        } catch (e) {
          throw new UsageError(`--data is not JSON: ${(e as Error).message}`);
        }
        const out = await c.call('invokeFunction', {
          params: { name },
          query: { ...pq(c), ...(o.qualifier ? { version: int(o.qualifier) } : {}) },
          body: event,
        } as never);
        if (json) return printJson(out);
        printInvoke(out);
      }),
    );
  fn.command('list')
    .alias('ls')
    .description("The project's functions")
    .action(
      act(program, async (c, json) => {
        const { items } = await c.call('listFunctions', { query: pq(c) });
        if (json) return printJson(items);
        console.log(
          table(
            ['NAME', 'RUNTIME', 'HANDLER', 'LIVE', 'VERSIONS', 'INSTANCES'],
            items.map((f) => [
              f.name,
              f.runtime,
              f.handler,
              String(f.aliases.live ?? '-'),
              String(f.versions),
              String(f.instances),
            ]),
          ),
        );
      }),
    );
  fn.command('remove <name...>')
    .alias('rm')
    .description('Remove functions (instances, versions and snapshots)')
    .action(
      act(program, async (c, json, names: string[]) => {
        for (const name of names) {
          const f = await c.call('deleteFunction', { params: { name }, query: pq(c) });
          if (json) printJson(f);
          else console.log(`function ${f.name} removed`);
        }
      }),
    );
  fn.command('versions <name>')
    .description("A function's versions, newest first")
    .action(
      act(program, async (c, json, name: string) => {
        const { items } = await c.call('listFunctionVersions', { params: { name }, query: pq(c) });
        if (json) return printJson(items);
        console.log(
          table(
            ['VERSION', 'STATE', 'RUNTIME', 'HANDLER', 'BUILD', 'CREATED', 'ERROR'],
            items.map((v) => [
              String(v.version),
              v.state,
              v.runtime,
              v.handler,
              v.buildMs === null ? '-' : `${(v.buildMs / 1000).toFixed(1)} s`,
              v.createdAt,
              (v.error ?? '').split('\n')[0]!.slice(0, 80),
            ]),
          ),
        );
      }),
    );
  fn.command('rollback <name> <version>')
    .description('Point live (or --alias) at an earlier version')
    .option('--alias <alias>', 'the alias to move', 'live')
    .action(
      act(program, async (c, json, name: string, version: string, o: { alias: string }) => {
        const f = await c.call('rollbackFunction', {
          params: { name },
          query: pq(c),
          body: { version: int(version), alias: o.alias },
        } as never);
        if (json) return printJson(f);
        console.log(`function ${f.name}: ${o.alias} is version ${f.aliases[o.alias]}`);
      }),
    );
  fnObserveCommands(program, fn);
}
