import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { defaultDataDir, readUserConfig, resolveProject, resolveUrl, userConfigPath } from '../config.ts';
import { UsageError } from '../usage-error.ts';
import { reportError } from '../output.ts';

interface Global {
  dataDir?: string;
  project?: string;
  json?: boolean;
}

/** The port `hearth docker env` assumes for a remote manager's Docker API (HEARTH_DOCKER_LISTEN there). */
const DOCKER_TCP_PORT = 2375;

const readToken = (path: string) => {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
};

const isLocal = (url: string) => /^https?:\/\/(127\.|localhost[:/]|\[::1\])/.test(url);

export interface DockerEnv {
  host: string;
  configDir: string;
}

/**
 * Writes a DOCKER_CONFIG directory whose config.json carries the Hearth credentials as the
 * docker client's HttpHeaders, and returns what DOCKER_HOST and DOCKER_CONFIG should be.
 */
export async function writeDockerEnv(opts: {
  dataDir: string;
  project?: string;
  host?: string;
  dir?: string;
}): Promise<DockerEnv> {
  const cfg = readUserConfig();
  const url = resolveUrl(opts.dataDir, cfg);
  const stored = cfg.token && (!cfg.url || cfg.url === url) ? cfg.token : null;
  const token = process.env.HEARTH_TOKEN || stored || readToken(join(opts.dataDir, 'admin.token'));
  if (!token) throw new UsageError('No API token: run `hearth login` or set HEARTH_TOKEN first.');
  const socket = join(opts.dataDir, 'docker.sock');
  const host =
    opts.host ??
    process.env.HEARTH_DOCKER_HOST ??
    (isLocal(url) && existsSync(socket)
      ? `unix://${socket}`
      : `tcp://${new URL(url).hostname}:${DOCKER_TCP_PORT}`);
  const configDir = opts.dir ?? join(dirname(userConfigPath()), 'docker');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await chmod(configDir, 0o700);
  const project = resolveProject(opts.project, cfg);
  const headers = { Authorization: `Bearer ${token}`, ...(project ? { 'X-Hearth-Project': project } : {}) };
  const file = join(configDir, 'config.json');
  await writeFile(file, JSON.stringify({ HttpHeaders: headers }, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return { host, configDir };
}

/** `hearth docker env`: points the stock docker client at Hearth's Docker API. */
export function dockerCommands(program: Command): void {
  const docker = program.command('docker').description('Use the docker client with Hearth (docs/docker.md)');
  docker
    .command('env')
    .description(
      'Write a DOCKER_CONFIG with your Hearth credentials and print DOCKER_HOST and DOCKER_CONFIG; use: eval "$(hearth docker env)"',
    )
    .option('--host <url>', 'the Docker API address (unix:///path or tcp://host:port)')
    .option('--dir <path>', 'where to write the docker config (default ~/.config/hearth/docker)')
    .action(async (o: { host?: string; dir?: string }) => {
      const g = program.opts<Global>();
      try {
        const env = await writeDockerEnv({
          dataDir: g.dataDir ?? defaultDataDir(),
          ...(g.project ? { project: g.project } : {}),
          ...(o.host ? { host: o.host } : {}),
          ...(o.dir ? { dir: o.dir } : {}),
        });
        if (g.json)
          return console.log(JSON.stringify({ DOCKER_HOST: env.host, DOCKER_CONFIG: env.configDir }));
        console.log(`export DOCKER_HOST=${JSON.stringify(env.host)}`);
        console.log(`export DOCKER_CONFIG=${JSON.stringify(env.configDir)}`);
        process.stderr.write('# Run: eval "$(hearth docker env)"; then docker ps, docker run -d …\n');
      } catch (e) {
        process.exitCode = reportError(e, Boolean(g.json));
      }
    });
}
