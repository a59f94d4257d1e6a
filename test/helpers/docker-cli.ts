import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's docker client (package docker.io, API 1.41): the real client the Docker API is tested with. */
export const DOCKER_BIN = '/usr/bin/docker';

export interface DockerRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerCli {
  /** DOCKER_CONFIG: a config.json whose HttpHeaders carry the token (what `hearth docker env` writes). */
  configDir: string;
  env: Record<string, string>;
  run(...args: string[]): Promise<DockerRun>;
  /** Like run, but throws unless it exits 0. */
  ok(...args: string[]): Promise<string>;
  dispose(): Promise<void>;
}

/** The docker client pointed at `host` (unix:// or tcp://) with `token` as its bearer header; null: none. */
export async function dockerCli(
  host: string,
  token: string | null,
  extraHeaders: Record<string, string> = {},
): Promise<DockerCli> {
  const configDir = await mkdtemp(join(tmpdir(), 'hearth-docker-config-'));
  const headers = { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extraHeaders };
  await writeFile(join(configDir, 'config.json'), JSON.stringify({ HttpHeaders: headers }), { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: configDir,
    DOCKER_HOST: host,
    DOCKER_CONFIG: configDir,
  };
  const run = (...args: string[]) =>
    new Promise<DockerRun>((resolve) => {
      execFile(DOCKER_BIN, args, { env, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      });
    });
  return {
    configDir,
    env,
    run,
    async ok(...args) {
      const r = await run(...args);
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
      return r.stdout;
    },
    dispose: () => rm(configDir, { recursive: true, force: true }),
  };
}
