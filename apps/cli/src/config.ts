import { readFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { HearthClient } from '@hearth/sdk';
import { Agent } from 'undici';
import { UsageError } from './usage-error.ts';

export const DEFAULT_PORT = 18080;

export function defaultDataDir(): string {
  return process.env.HEARTH_DATA_DIR ?? '/var/lib/hearth';
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** What `hearth login` stores for the user: the manager, its API token and a default project. */
export interface UserConfig {
  url?: string;
  token?: string;
  project?: string;
}

/** `$XDG_CONFIG_HOME/hearth/config.json`, else `~/.config/hearth/config.json`. */
export function userConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'hearth', 'config.json');
}

export function readUserConfig(): UserConfig {
  const path = userConfigPath();
  const text = read(path);
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as UserConfig) : {};
  } catch {
    throw new UsageError(`${path} is not valid JSON; fix it or remove it and run \`hearth login\` again.`);
  }
}

/** Writes the config readable by its owner only (it holds a token), replacing it in one step. */
export async function writeUserConfig(cfg: UserConfig): Promise<string> {
  const path = userConfigPath();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}

export async function removeUserConfig(): Promise<void> {
  await rm(userConfigPath(), { force: true });
}

/** The manager on this machine, as `hearth up` recorded it in the data directory. */
export function localManagerUrl(dataDir: string): string | null {
  const local = read(join(dataDir, 'manager.json'));
  return local ? (JSON.parse(local) as { url: string }).url : null;
}

/**
 * The project requests act in: `--project`, else `$HEARTH_PROJECT`, else the config's default;
 * null leaves it to the server (the token's scope or the user's default project).
 */
export function resolveProject(flag: string | undefined, cfg: UserConfig = readUserConfig()): string | null {
  return flag || process.env.HEARTH_PROJECT || cfg.project || null;
}

/** The manager's URL: `$HEARTH_URL`, else the config's, else the local data directory's. */
export function resolveUrl(dataDir: string, cfg: UserConfig = readUserConfig()): string {
  return process.env.HEARTH_URL || cfg.url || localManagerUrl(dataDir) || `http://127.0.0.1:${DEFAULT_PORT}`;
}

/**
 * The client for a verb. The token is `$HEARTH_TOKEN`, else the one `hearth login` stored (only
 * for the manager it was issued by, so it is never sent elsewhere), else the local data
 * directory's bootstrap admin.token (the single-machine `hearth up` setup).
 */
export function resolveClient(opts: { dataDir?: string; project?: string } = {}): HearthClient {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const cfg = readUserConfig();
  const baseUrl = resolveUrl(dataDir, cfg);
  const stored = cfg.token && (!cfg.url || cfg.url === baseUrl) ? cfg.token : null;
  const token = process.env.HEARTH_TOKEN || stored || read(join(dataDir, 'admin.token'));
  if (!token) {
    throw new UsageError(
      `No API token: run \`hearth login\`, set HEARTH_TOKEN, or run on the manager's machine where ${join(dataDir, 'admin.token')} exists (start it with \`hearth up\`).`,
    );
  }
  return new HearthClient({
    baseUrl,
    token,
    project: resolveProject(opts.project, cfg),
    fetch: cliFetch,
  });
}

// `logs -f`, `exec` and `attach` may wait hours between two chunks of a body; undici's default
// gives up after 5 minutes of silence. Some answers themselves take longer than 5 minutes: a create
// whose image is built on first use (a Debian image or a runtime) answers once it is built. The
// CLI waits as long as the manager works on the request (Ctrl-C ends the wait).
const patient = new Agent({ bodyTimeout: 0, headersTimeout: 0 });
const cliFetch: typeof fetch = (input, init) => fetch(input, { ...init, dispatcher: patient } as RequestInit);
