import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentTlsMaterial } from '@hearth/contract';

/**
 * How the agent's API is served. `issued` (the default): over HTTPS with the key and certificate
 * the manager issues at each registration, kept in `<data dir>/tls`; `files`: over HTTPS with the
 * operator's key and certificate (PEM files); `plain`: over HTTP (an explicit opt-out).
 */
export type AgentTlsMode =
  { kind: 'issued' } | { kind: 'files'; certFile: string; keyFile: string } | { kind: 'plain' };

export interface ServingMaterial {
  key: string;
  cert: string;
}

const dirOf = (dataDir: string) => join(dataDir, 'tls');

/** What the API can serve with at start: the operator's files, the last issued pair, or nothing yet. */
export async function loadServing(dataDir: string, mode: AgentTlsMode): Promise<ServingMaterial | null> {
  if (mode.kind === 'plain') return null;
  if (mode.kind === 'files') {
    return { key: await readFile(mode.keyFile, 'utf8'), cert: await readFile(mode.certFile, 'utf8') };
  }
  try {
    const dir = dirOf(dataDir);
    return {
      key: await readFile(join(dir, 'agent.key'), 'utf8'),
      cert: await readFile(join(dir, 'agent.crt'), 'utf8'),
    };
  } catch {
    return null;
  }
}

/** Keeps what the manager issued (the key 0600, each file replaced whole) for the next start. */
export async function saveIssued(dataDir: string, m: AgentTlsMaterial): Promise<void> {
  const dir = dirOf(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const put = async (name: string, text: string, mode: number) => {
    const path = join(dir, name);
    await writeFile(`${path}.tmp`, text, { mode });
    await chmod(`${path}.tmp`, mode);
    await rename(`${path}.tmp`, path);
  };
  await put('agent.key', m.key, 0o600);
  await put('agent.crt', m.cert, 0o644);
  await put('ca.crt', m.ca, 0o644);
}
