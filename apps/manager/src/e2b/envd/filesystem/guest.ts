import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { HearthError, type ExecResult, type FileStat, type Vm } from '@hearth/contract';
import type { AppServices } from '../../../app.ts';
import type { AgentTarget } from '../../../services/agent-client.ts';
import { EnvdError, type ResolveSandbox } from '../context.ts';

/** What the envd filesystem and /files handlers need from the manager. */
export interface EnvdFsDeps {
  /** The sandbox's VM, its access token checked. */
  resolve: ResolveSandbox;
  agents: AppServices['agents'];
  stores: Pick<AppServices['stores'], 'hosts'>;
  /**
   * The user a call without a username acts as (E2B's envd takes the sandbox's default user);
   * default root.
   */
  defaultUser?: string;
}

/** A guest user as /etc/passwd knows it. */
export interface GuestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * One sandbox's guest, reached through its host's agent: the agent's file operations, plus
 * commands run as root for what they lack (ownership of new files and directories, owner names).
 */
export class Guest {
  private constructor(
    readonly vm: Vm,
    private readonly host: AgentTarget,
    private readonly agents: EnvdFsDeps['agents'],
  ) {}

  static async of(deps: EnvdFsDeps, req: FastifyRequest): Promise<Guest> {
    const vm = await deps.resolve(req);
    if (vm.state !== 'running' || !vm.host) {
      throw new EnvdError('unavailable', `Sandbox ${vm.name} is ${vm.state}, not running.`);
    }
    return new Guest(vm, await deps.stores.hosts.require(vm.host), deps.agents);
  }

  get agentTarget(): AgentTarget {
    return this.host;
  }

  /** Runs argv as root in the guest and answers its result (stdout as UTF-8). */
  exec(command: string[]): Promise<ExecResult> {
    return this.agents.call(this.host, 'exec', {
      params: { id: this.vm.id },
      body: { command, timeoutMs: 120_000 },
    }) as Promise<ExecResult>;
  }

  /** Runs argv as root; a non-zero exit is an `internal` error with its stderr. */
  async run(what: string, command: string[]): Promise<string> {
    const r = await this.exec(command);
    if (r.exitCode !== 0) {
      const msg = r.stderr.trim() || `exit ${r.exitCode ?? r.signal}`;
      throw new EnvdError(r.exitCode === 3 ? 'invalid_argument' : 'internal', `${what} failed: ${msg}`);
    }
    return r.stdout;
  }

  /** The named user from the guest's /etc/passwd; `unauthenticated` (as envd answers) when unknown. */
  async user(name: string): Promise<GuestUser> {
    if (!/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*\$?$/.test(name) || name.length > 32) {
      throw new EnvdError('unauthenticated', `invalid username: '${name}'`);
    }
    const passwd = await this.readSmall('/etc/passwd');
    for (const line of passwd.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 7) {
        return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' };
      }
    }
    throw new EnvdError('unauthenticated', `invalid username: '${name}'`);
  }

  /** A small guest file (a few KB), whole. */
  private async readSmall(path: string): Promise<string> {
    const res = await this.agents.raw(this.host, 'downloadFile', {
      params: { id: this.vm.id },
      query: { path, format: 'raw' },
    });
    return res.text();
  }

  /** A guest file's bytes as the agent streams them (the response unread). */
  download(path: string): Promise<Response> {
    return this.agents.raw(
      this.host,
      'downloadFile',
      { params: { id: this.vm.id }, query: { path, format: 'raw' } },
      { stream: true },
    );
  }

  /**
   * Writes `body` to a guest file (replacing it whole once complete, with `meta` as its whole
   * user metadata); answers its byte count.
   */
  async upload(
    path: string,
    body: Readable,
    signal?: AbortSignal,
    meta?: Record<string, string>,
  ): Promise<number> {
    const query = { path, format: 'raw' as const, parents: 'false' as const };
    const res = await this.agents.raw(
      this.host,
      'uploadFile',
      {
        params: { id: this.vm.id },
        query: meta && Object.keys(meta).length ? { ...query, meta: JSON.stringify(meta) } : query,
      },
      {
        body: Readable.toWeb(body) as unknown as BodyInit,
        headers: { 'content-type': 'application/octet-stream' },
        ...(signal ? { signal } : {}),
      },
    );
    const out = (await res.json()) as { bytes: number };
    return out.bytes;
  }

  /** The agent's NDJSON stream of `dir`'s changes (fs.watch), until `signal` aborts. */
  watch(dir: string, recursive: boolean, signal: AbortSignal): Promise<Response> {
    return this.agents.raw(
      this.host,
      'watchFiles',
      { params: { id: this.vm.id }, query: { path: dir, recursive: recursive ? 'true' : 'false' } },
      { stream: true, signal },
    );
  }

  stat(path: string): Promise<FileStat> {
    return this.agents.call(this.host, 'statFile', { params: { id: this.vm.id }, query: { path } });
  }

  async list(path: string, depth: number): Promise<FileStat[]> {
    const r = await this.agents.call(this.host, 'listFiles', {
      params: { id: this.vm.id },
      query: { path, depth },
    });
    return r.entries;
  }

  async move(from: string, to: string): Promise<void> {
    await this.agents.call(this.host, 'moveFile', { params: { id: this.vm.id }, body: { from, to } });
  }

  async remove(path: string): Promise<void> {
    await this.agents.call(this.host, 'removeFile', {
      params: { id: this.vm.id },
      query: { path, recursive: 'true' },
    });
  }

  /**
   * Creates the missing directories of `dir` (each ancestor in turn), each owned by `user`, as
   * envd does; exit 3 (invalid_argument) when an ancestor is not a directory.
   */
  async ensureDirs(dir: string, user: GuestUser): Promise<void> {
    const chain: string[] = [];
    for (let d = dir; d !== '/'; d = posix.dirname(d)) chain.unshift(d);
    if (chain.length === 0) return;
    await this.run(`Creating ${dir}`, [
      '/bin/sh',
      '-c',
      // Positional arguments only: no path is ever parsed by the shell.
      'o=$1; shift; for d; do ' +
        'if [ -d "$d" ]; then continue; fi; ' +
        'if [ -e "$d" ] || [ -L "$d" ]; then echo "path is a file: $d" >&2; exit 3; fi; ' +
        'mkdir "$d" 2>/dev/null || [ -d "$d" ] || { mkdir "$d"; exit 4; }; ' +
        'chown "$o" "$d" || exit 4; done',
      'sh',
      `${user.uid}:${user.gid}`,
      ...chain,
    ]);
  }

  async chown(path: string, user: GuestUser): Promise<void> {
    await this.run(`Giving ${path} to ${user.name}`, ['chown', `${user.uid}:${user.gid}`, path]);
  }

  /**
   * Owner and group names of `paths` (numeric ids where the guest has no name), by path; a path
   * that vanished in between is missing from the answer. One command for any number of paths.
   */
  async owners(paths: string[]): Promise<Map<string, { owner: string; group: string }>> {
    const out = new Map<string, { owner: string; group: string }>();
    // stat's argv per command stays well under the kernel's argument limit.
    for (let i = 0; i < paths.length; i += 500) {
      const chunk = paths.slice(i, i + 500);
      const r = await this.exec(['stat', '-c', '%u %g %U %G %n', '--', ...chunk]);
      for (const line of r.stdout.split('\n')) {
        const m = /^(\d+) (\d+) (\S+) (\S+) (.*)$/.exec(line);
        if (!m) continue;
        const name = (n: string, id: string) => (n === 'UNKNOWN' || n === '' ? id : n);
        out.set(m[5]!, { owner: name(m[3]!, m[1]!), group: name(m[4]!, m[2]!) });
      }
    }
    return out;
  }
}

/**
 * A path as envd resolves it for `user`: `~` and relative paths against the user's home, `..`
 * segments resolved; the agent takes only clean absolute paths.
 */
export function resolvePath(path: string, user: GuestUser): string {
  let p = path;
  if (p === '~' || p.startsWith('~/')) p = user.home + p.slice(1);
  else if (p.startsWith('~')) throw new EnvdError('invalid_argument', 'cannot expand user-specific home dir');
  if (p === '') p = user.home;
  return posix.resolve(user.home, p);
}

/** The Connect code of an agent's or manager's error. */
export function envdCode(e: unknown): EnvdError {
  if (e instanceof EnvdError) return e;
  if (e instanceof HearthError) {
    const byCode: Partial<Record<string, EnvdError['code']>> = {
      GUEST_PATH_NOT_FOUND: 'not_found',
      GUEST_PATH_EXISTS: 'already_exists',
      GUEST_PATH_WRONG_TYPE: 'invalid_argument',
      GUEST_PATH_INVALID: 'invalid_argument',
      GUEST_PERMISSION_DENIED: 'permission_denied',
      GUEST_PATH_IO_ERROR: 'internal',
      VM_NOT_RUNNING: 'unavailable',
      GUEST_AGENT_UNAVAILABLE: 'unavailable',
      GUEST_AGENT_RECONNECTING: 'unavailable',
      HOST_UNAVAILABLE: 'unavailable',
      AGENT_UNREACHABLE: 'unavailable',
      GUEST_AGENT_TIMEOUT: 'deadline_exceeded',
    };
    const code =
      byCode[e.code] ??
      (e.status === 404
        ? 'not_found'
        : e.status === 409
          ? 'already_exists'
          : e.status === 403
            ? 'permission_denied'
            : e.status === 400 || e.status === 413 || e.status === 422
              ? 'invalid_argument'
              : e.status === 503
                ? 'unavailable'
                : 'internal');
    return new EnvdError(code, e.message);
  }
  return new EnvdError('internal', (e as Error)?.message ?? String(e));
}
