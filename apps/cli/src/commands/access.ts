import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { ExecEvent } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';
import { download, upload } from './cp.ts';
import { CONSOLE_ESCAPE, consoleTarget, runTerminal, shellTarget } from './terminal.ts';

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, USR1: 10, USR2: 12 };

/** The shell convention: the exit code, 128+N for signal N, 124 for a timeout (as timeout(1)). */
export function exitStatus(ev: {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
}): number {
  if (ev.timedOut) return 124;
  if (ev.exitCode !== null) return ev.exitCode;
  return 128 + (SIGNALS[ev.signal ?? ''] ?? 1);
}

export async function readStdin(): Promise<Buffer | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a command in a VM (execVm) or a container (containerExec), streaming its output. */
export async function execStream(
  c: HearthClient,
  target: string,
  body: Record<string, unknown>,
  route: 'execVm' | 'containerExec' = 'execVm',
): Promise<number> {
  const res = await c.raw(route, { params: { id: target }, body: { ...body, stream: true } as never });
  let status = 1;
  const lines = createInterface({ input: Readable.fromWeb(res.body as never) });
  for await (const line of lines) {
    if (!line) continue;
    const ev = JSON.parse(line) as ExecEvent;
    if (ev.type === 'stdout') process.stdout.write(Buffer.from(ev.data, 'base64'));
    else if (ev.type === 'stderr') process.stderr.write(Buffer.from(ev.data, 'base64'));
    else if (ev.type === 'exit') {
      status = exitStatus(ev);
      if (ev.timedOut) process.stderr.write(`hearth: the command was killed after its timeout\n`);
    } else if (ev.type === 'error') {
      process.stderr.write(`error: the command failed in the guest: ${ev.message} (${ev.code})\n`);
      status = 1;
    }
  }
  return status;
}

function parseRemote(arg: string): { vm: string; path: string } | null {
  const m = /^([A-Za-z0-9_][A-Za-z0-9_.-]*):(\/.*)$/.exec(arg);
  return m ? { vm: m[1]!, path: m[2]! } : null;
}

export function accessCommands(program: Command): void {
  program
    .command('connect <vm>')
    .description('Open an interactive shell in a VM (through its guest agent); exits with the shell status')
    .option('--user <user>', 'log in as this guest user (default root)')
    .action(
      act(program, async (c, _json, vm: string, o: { user?: string }) => {
        process.exitCode = await runTerminal(shellTarget(c, vm, o.user ? { user: o.user } : {}), {
          resize: true,
        });
      }),
    );

  program
    .command('console <vm>')
    .description('Attach to the serial console of a VM (Ctrl-] leaves)')
    .action(
      act(program, async (c, _json, vm: string) => {
        if (process.stdin.isTTY)
          process.stderr.write(`Connected to the serial console of ${vm}. Press Ctrl-] to leave.\r\n`);
        process.exitCode = await runTerminal(consoleTarget(c, vm), { resize: false, escape: CONSOLE_ESCAPE });
      }),
    );

  program
    .command('cp <src> <dst>')
    .description('Copy files or directories between here and a VM: cp ./f vm:/path, or cp vm:/path ./f')
    .action(
      act(program, async (c, json, src: string, dst: string) => {
        const from = parseRemote(src);
        const to = parseRemote(dst);
        if (Boolean(from) === Boolean(to)) {
          throw new UsageError('cp needs exactly one side in the form VM:/absolute/path.');
        }
        if (to) await upload(c, src, to.vm, to.path);
        else await download(c, from!.vm, from!.path, dst);
        if (json) process.stdout.write(JSON.stringify({ from: src, to: dst }) + '\n');
      }),
    );
}
