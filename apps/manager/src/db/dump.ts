import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * libpq's environment for a connection URL: the password never appears in an argv (visible in
 * `ps`), and pg_dump/pg_restore read the rest from the same variables.
 */
export function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {};
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname);
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) env.PGDATABASE = db;
  const host = u.searchParams.get('host');
  if (host) env.PGHOST = host;
  const ssl = u.searchParams.get('sslmode');
  if (ssl) env.PGSSLMODE = ssl;
  return env;
}

/** pg_dump's custom format (one consistent snapshot of the database) into `file`. */
export async function pgDump(url: string, file: string): Promise<void> {
  await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', '--file', file], {
    env: { ...process.env, ...pgEnv(url) },
    maxBuffer: 16 * 2 ** 20,
  }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`pg_dump failed: ${e.stderr?.trim() || e.message}`);
  });
}

/** Loads a pg_dump archive into the (empty) database of `url`. */
export async function pgRestore(url: string, file: string): Promise<void> {
  await run(
    'pg_restore',
    [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--dbname',
      pgEnv(url).PGDATABASE ?? 'postgres',
      file,
    ],
    {
      env: { ...process.env, ...pgEnv(url) },
      maxBuffer: 16 * 2 ** 20,
    },
  ).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`pg_restore failed: ${e.stderr?.trim() || e.message}`);
  });
}
