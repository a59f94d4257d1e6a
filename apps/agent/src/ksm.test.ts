import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { enableKsm, ksmSummary } from './ksm.ts';

// A stand-in for /sys/kernel/mm/ksm (the real one is the host's, shared by everything on it).
let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ksmDir(run: string, sharing = '0'): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'hearth-ksm-'));
  await writeFile(join(dir, 'run'), `${run}\n`);
  await writeFile(join(dir, 'pages_sharing'), `${sharing}\n`);
  return dir;
}

describe('KSM', () => {
  it('turns ksmd on once and reports the pages it merged', async () => {
    const d = await ksmDir('0');
    expect(await ksmSummary(d)).toMatch(/off/);
    expect(await enableKsm(d)).toBe('enabled');
    expect((await readFile(join(d, 'run'), 'utf8')).trim()).toBe('1');
    expect(await enableKsm(d)).toBe('already on');
    await writeFile(join(d, 'pages_sharing'), '2560\n');
    expect(await ksmSummary(d)).toBe('KSM on: 2560 guest pages merged (10 MiB saved)');
  });

  it('says so where the kernel has no KSM', async () => {
    const d = await ksmDir('0');
    await rm(join(d, 'run'));
    expect(await enableKsm(d)).toBe('unavailable');
    await expect(ksmSummary(d)).rejects.toThrow(/no KSM/);
  });
});
