import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Values kept encrypted at rest (project secrets, registry passwords): AES-256-GCM with a key that
 * never enters the database, so a database dump or backup alone does not reveal them. The key is
 * HEARTH_SEAL_KEY (64 hex digits; every manager of a cluster needs the same) or, by default, a
 * random key in `<dataDir>/seal.key` (mode 0600) made on first use.
 */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

const VERSION = 'v1';

export function sealerFromKey(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error('A sealing key is 32 bytes (64 hex digits)');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return [
        VERSION,
        iv.toString('base64'),
        c.getAuthTag().toString('base64'),
        body.toString('base64'),
      ].join(':');
    },
    open(sealed) {
      const [v, iv, tag, body] = sealed.split(':');
      if (v !== VERSION || !iv || !tag || body === undefined) throw new Error('Not a sealed value');
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      d.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([d.update(Buffer.from(body, 'base64')), d.final()]).toString('utf8');
    },
  };
}

/** The manager's sealer: HEARTH_SEAL_KEY, else `<dataDir>/seal.key` (created 0600 when missing). */
export async function loadSealer(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Sealer> {
  const fromEnv = env.HEARTH_SEAL_KEY?.trim();
  if (fromEnv) {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv))
      throw new Error('HEARTH_SEAL_KEY must be 64 hex digits (32 bytes)');
    return sealerFromKey(Buffer.from(fromEnv, 'hex'));
  }
  const path = join(dataDir, 'seal.key');
  try {
    return sealerFromKey(Buffer.from((await readFile(path, 'utf8')).trim(), 'hex'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = randomBytes(32);
  // `wx`: two managers starting on one data directory must not both write a key.
  try {
    await writeFile(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadSealer(dataDir, env);
    throw e;
  }
  await chmod(path, 0o600);
  return sealerFromKey(key);
}
