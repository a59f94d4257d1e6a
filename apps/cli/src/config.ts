import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HearthClient } from '@hearth/sdk';

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

export class UsageError extends Error {}

/** HEARTH_URL / HEARTH_TOKEN win; otherwise the local single-machine data directory is read. */
export function resolveClient(opts: { dataDir?: string } = {}): HearthClient {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const local = read(join(dataDir, 'manager.json'));
  const baseUrl =
    process.env.HEARTH_URL ??
    (local ? (JSON.parse(local) as { url: string }).url : `http://127.0.0.1:${DEFAULT_PORT}`);
  const token = process.env.HEARTH_TOKEN ?? read(join(dataDir, 'admin.token'));
  if (!token) {
    throw new UsageError(
      `No API token: set HEARTH_TOKEN, or run on the manager's machine where ${join(dataDir, 'admin.token')} exists (start it with \`hearth up\`).`,
    );
  }
  return new HearthClient({ baseUrl, token });
}
