import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import type { Command } from 'commander';
import { errorCatalogue, HearthError, type ErrorCode } from '@hearth/contract';
import { PortStream, PortStreamError } from '@hearth/contract/port-stream';
import type { HearthClient } from '@hearth/sdk';
import { UsageError } from '../usage-error.ts';
import { act } from './vm.ts';
import { onRefusedUpgrade } from './ws-refusal.ts';

/** Opens one TCP stream to `port` in the VM (GET /v1/vms/{id}/ports/{port}/stream). */
export async function openPortStream(c: HearthClient, vm: string, port: number): Promise<PortStream> {
  const { WebSocket } = await import('ws');
  const t = c.websocket('vmPortStream', { params: { id: vm, port }, query: {} });
  const ws = new WebSocket(t.url, { headers: t.headers });
  const s = new PortStream(ws);
  onRefusedUpgrade(ws, 'the stream', (e) => s.destroy(e));
  return s;
}

/** A stream failure as the catalogue error the server named (so the CLI reports its hint). */
function asHearthError(e: Error): Error {
  if (e instanceof PortStreamError && e.code in errorCatalogue)
    return new HearthError(e.code as ErrorCode, e.message);
  return e;
}

/** LOCAL:REMOTE or PORT (the same on both sides); LOCAL 0 picks a free port. */
export function parseForward(spec: string): { local: number; remote: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  const local = m ? Number(m[1]) : NaN;
  const remote = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || local > 65535 || remote < 1 || remote > 65535) {
    throw new UsageError(`"${spec}" is not LOCAL:REMOTE or PORT (ports 1..65535; LOCAL may be 0).`);
  }
  return { local, remote };
}

/** Joins a local TCP connection to a stream: bytes both ways, half-close passed on, either end's failure ends both. */
function join(local: Socket, s: PortStream): void {
  local.pipe(s);
  s.pipe(local);
  local.on('error', () => s.destroy());
  local.on('close', () => s.destroy());
  s.on('error', (e) => {
    process.stderr.write(`hearth: port-forward: ${e.message}\n`);
    local.destroy();
  });
  s.on('close', () => {
    if (!local.writableFinished) local.destroy();
  });
}

/** Shell-quotes one word for ssh's ProxyCommand (which ssh runs with the user's shell). */
export const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command line that runs this same `hearth` (with the global options in effect). */
function selfCommand(program: Command): string[] {
  const g = program.opts<{ dataDir?: string; project?: string }>();
  return [
    process.execPath,
    process.argv[1]!,
    ...(g.dataDir ? ['--data-dir', g.dataDir] : []),
    ...(g.project ? ['--project', g.project] : []),
  ];
}

interface SshTarget {
  alias: string;
  user: string;
  proxy: string;
}

async function sshTarget(program: Command, c: HearthClient, vm: string, user?: string): Promise<SshTarget> {
  const v = await c.call('getVm', { params: { id: vm } });
  return {
    alias: `hearth-${v.name}`,
    // The account the VM was created with, else root (the only account the base image has).
    user: user ?? v.users[0] ?? 'root',
    proxy: [...selfCommand(program), 'ssh-proxy', v.id, '22'].map(shq).join(' '),
  };
}

/** An OpenSSH config block for `ssh hearth-NAME` (scp, rsync and editors then work as with any host). */
export function sshConfigBlock(t: SshTarget): string {
  return [
    `Host ${t.alias}`,
    `  HostName ${t.alias}`,
    `  User ${t.user}`,
    `  ProxyCommand ${t.proxy}`,
    // Known hosts are kept under the VM's name, not an address: there is none on the way.
    `  HostKeyAlias ${t.alias}`,
    `  StrictHostKeyChecking accept-new`,
    '',
  ].join('\n');
}

export function forwardCommands(program: Command): void {
  program
    .command('port-forward <vm> <ports...>')
    .description(
      'Forward local TCP ports to ports in a VM through its guest agent (LOCAL:REMOTE or PORT; no published port or route needed); Ctrl-C ends it',
    )
    .action(
      act(program, async (c, json, vm: string, specs: string[]) => {
        const pairs = specs.map(parseForward);
        await c.call('getVm', { params: { id: vm } }); // an unknown VM fails now, not at the first connection
        const servers: Server[] = [];
        const open = new Set<Socket>();
        for (const { local, remote } of pairs) {
          const server = createServer({ allowHalfOpen: true }, (sock) => {
            open.add(sock);
            sock.on('close', () => open.delete(sock));
            sock.pause();
            openPortStream(c, vm, remote).then(
              (s) => join(sock, s),
              (e: Error) => {
                process.stderr.write(`hearth: port-forward: ${e.message}\n`);
                sock.destroy();
              },
            );
          });
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(local, '127.0.0.1', () => resolve());
          });
          servers.push(server);
          const port = (server.address() as { port: number }).port;
          process.stdout.write(
            json
              ? JSON.stringify({ local: `127.0.0.1:${port}`, remote }) + '\n'
              : `Forwarding from 127.0.0.1:${port} -> ${remote}\n`,
          );
        }
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            for (const s of servers) s.close();
            for (const s of open) s.destroy();
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );

  program
    .command('ssh-proxy <vm> <port>', { hidden: true })
    .description("Pipe stdin and stdout to a TCP port in a VM (ssh's ProxyCommand)")
    .action(
      act(program, async (c, _json, vm: string, port: string) => {
        const s = await openPortStream(c, vm, parseForward(port).remote);
        await new Promise<void>((resolve, reject) => {
          process.stdin.pipe(s);
          s.pipe(process.stdout);
          s.on('error', (e) => reject(asHearthError(e)));
          s.on('close', () => resolve());
        });
        // stdin may still be open (ssh keeps it until it exits): nothing more is read from it.
        process.stdin.destroy();
      }),
    );

  program
    .command('ssh [vm] [command...]')
    .description(
      'Run the system ssh into a VM through its guest agent (works on isolated networks); `-- cmd` runs a command; --config prints an OpenSSH config block',
    )
    .option('-l, --user <user>', "log in as this user (default: the VM's user, else root)")
    .option('-i, --identity <file>', 'private key file (passed to ssh -i)')
    .option(
      '-o, --ssh-option <option>',
      'an ssh -o option, repeatable',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option('--config', 'print an OpenSSH config block (Host hearth-VM …) for this VM, or every VM')
    .action(
      act(
        program,
        async (
          c,
          _json,
          vm: string | undefined,
          command: string[],
          o: { user?: string; identity?: string; sshOption: string[]; config?: boolean },
        ) => {
          if (o.config) {
            const names = vm ? [vm] : (await c.all('listVms', {})).map((v) => v.id);
            for (const n of names)
              process.stdout.write(sshConfigBlock(await sshTarget(program, c, n, o.user)) + '\n');
            return;
          }
          if (!vm) throw new UsageError('ssh needs a VM (or --config).');
          const t = await sshTarget(program, c, vm, o.user);
          const argv = [
            '-o',
            `ProxyCommand=${t.proxy}`,
            '-o',
            `HostKeyAlias=${t.alias}`,
            '-o',
            'StrictHostKeyChecking=accept-new',
            ...o.sshOption.flatMap((x) => ['-o', x]),
            ...(o.identity ? ['-i', o.identity] : []),
            '-l',
            t.user,
            t.alias,
            ...(command.length ? ['--', ...command] : []),
          ];
          process.exitCode = await new Promise<number>((resolve, reject) => {
            const child = spawn('ssh', argv, { stdio: 'inherit' });
            child.on('error', (e) =>
              reject(new Error(`Running ssh failed: ${e.message} (is OpenSSH's client installed?)`)),
            );
            child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
          });
        },
      ),
    );
}
