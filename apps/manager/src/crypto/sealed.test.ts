import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSealer, sealerFromKey } from './sealed.ts';

describe('sealed values', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('round-trips, never stores the plain text, and refuses a tampered value', () => {
    const s = sealerFromKey(Buffer.alloc(32, 7));
    const sealed = s.seal('hunter2-password');
    expect(sealed).not.toContain('hunter2');
    expect(s.seal('hunter2-password')).not.toBe(sealed);
    expect(s.open(sealed)).toBe('hunter2-password');
    const parts = sealed.split(':');
    const body = Buffer.from(parts[3]!, 'base64');
    body[0] = body[0]! ^ 1;
    parts[3] = body.toString('base64');
    expect(() => s.open(parts.join(':'))).toThrow();
    expect(() => sealerFromKey(Buffer.alloc(32, 8)).open(sealed)).toThrow();
  });

  it('keeps its key in the data directory (0600) and reuses it; HEARTH_SEAL_KEY wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-seal-'));
    dirs.push(dir);
    const a = await loadSealer(dir, {});
    const b = await loadSealer(dir, {});
    expect(b.open(a.seal('x'))).toBe('x');
    expect((await stat(join(dir, 'seal.key'))).mode & 0o777).toBe(0o600);
    expect((await readFile(join(dir, 'seal.key'), 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    const fromEnv = await loadSealer(dir, { HEARTH_SEAL_KEY: '11'.repeat(32) });
    expect(() => fromEnv.open(a.seal('x'))).toThrow();
    await expect(loadSealer(dir, { HEARTH_SEAL_KEY: 'short' })).rejects.toThrow(/64 hex/);
  });
});
