import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './proc.ts';

/**
 * A PostgreSQL server of a test's own (Debian's binaries run as the postgres user, as
 * scripts/with-pg.sh does), for tests that restart it: restarting the suite's shared server would
 * break every other test file using it.
 */
export interface PgServer {
  url: string;
  /** Stops it as a crash would (`-m immediate`: no checkpoint, clients cut) and starts it again. */
  restart(): void;
  stop(): void;
  /** Starts it again after stop() (a no-op when it runs). */
  start(): void;
  dispose(): Promise<void>;
}

function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  if (!versions.length) throw new Error('no PostgreSQL in /usr/lib/postgresql (apt install postgresql)');
  return join('/usr/lib/postgresql', versions.at(-1)!, 'bin');
}

export async function startPgServer(): Promise<PgServer> {
  const bin = pgBin();
  const dir = await mkdtemp(join(tmpdir(), 'hearth-pgsrv-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  await chown(dir, uid, gid);
  const port = await freePort();
  const data = join(dir, 'data');
  const asPg = (args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'pipe', encoding: 'utf8' });
  asPg([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres']);
  const start = () =>
    asPg([
      ...[join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-o'],
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  const stop = () => {
    spawnSync(
      'runuser',
      ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'],
      {
        stdio: 'ignore',
      },
    );
  };
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart() {
      stop();
      start();
    },
    stop,
    start() {
      const st = spawnSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, 'status']);
      if (st.status !== 0) start();
    },
    async dispose() {
      stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
