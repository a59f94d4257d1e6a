import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './proc.ts';

const run = promisify(execFile);

/** A PostgreSQL server of a test's own (Debian's postgresql package, run as the postgres user). */
export interface PgServer {
  url: string;
  /** Stops the server (`-m fast`: every session is terminated, as in a failover) and starts it again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A throwaway PostgreSQL cluster on a free loopback port, for tests that stop or restart the
 * server: the suite's shared one (HEARTH_TEST_PG_URL) serves other test files at the same time.
 * Null when no PostgreSQL binaries are installed.
 */
export async function startPgServer(): Promise<PgServer | null> {
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const version = versions.sort((x, y) => Number(x) - Number(y)).at(-1);
  if (!version) return null;
  const bin = (tool: string) => join('/usr/lib/postgresql', version, 'bin', tool);
  const dir = await mkdtemp(join(tmpdir(), 'hearth-pgsrv-'));
  await chmod(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (tool: string, args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', bin(tool), ...args], { timeout: 120_000 });
  const ctl = (args: string[]) => asPostgres('pg_ctl', ['-D', data, ...args]);
  const startArgs = [
    '-l',
    join(dir, 'log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ];
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres']);
  await ctl(startArgs);
  const server: PgServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await ctl(['-m', 'fast', '-w', 'stop']);
      await ctl(startArgs);
    },
    async stop() {
      await ctl(['-m', 'fast', '-w', 'stop']);
    },
    async dispose() {
      await ctl(['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
