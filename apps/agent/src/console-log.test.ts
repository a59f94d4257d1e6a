import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capLog, tailFile, waitForText } from './console-log.ts';
import { consoleTailReason, keyConsoleLine } from './vm/console-reason.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-console-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('console log', () => {
  it('keeps the newest half when over the cap, and says so', async () => {
    const f = join(dir, 'console.log');
    await writeFile(f, 'a'.repeat(3000) + 'THE-END');
    await capLog(f, 2000);
    const text = await readFile(f, 'utf8');
    expect((await stat(f)).size).toBeLessThanOrEqual(2000);
    expect(text).toMatch(/^\[hearth: console log truncated/);
    expect(text.endsWith('THE-END')).toBe(true);
  });

  it('leaves a log under the cap alone', async () => {
    const f = join(dir, 'console.log');
    await writeFile(f, 'short');
    await capLog(f, 2000);
    expect(await readFile(f, 'utf8')).toBe('short');
  });

  it('tails the last bytes, and an absent file is empty', async () => {
    const f = join(dir, 'x');
    await writeFile(f, '0123456789');
    expect(await tailFile(f, 4)).toBe('6789');
    expect(await tailFile(join(dir, 'missing'), 4)).toBe('');
  });

  it('finds a marker written after the offset, even split across writes, woken by inotify', async () => {
    const f = join(dir, 'c');
    await writeFile(f, 'old hearth-guest: booted\n');
    const from = (await stat(f)).size;
    const ac = new AbortController();
    const seen = waitForText(f, 'hearth-guest: booted', from, ac.signal, 60_000);
    await appendFile(f, 'noise hearth-gue');
    await new Promise((r) => setTimeout(r, 30));
    await appendFile(f, 'st: booted in 1s\n');
    await expect(seen).resolves.toBeUndefined();
  });

  it('rejects with the abort reason', async () => {
    const ac = new AbortController();
    const p = waitForText(join(dir, 'never'), 'x', 0, ac.signal, 60_000);
    ac.abort(new Error('boot timed out'));
    await expect(p).rejects.toThrow('boot timed out');
  });

  it('explains a failed boot with the most telling console line', () => {
    const text = 'x\n[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root fs\n[ 1.1] trace\n';
    expect(keyConsoleLine(text)).toBe('Kernel panic - not syncing: VFS: Unable to mount root fs');
    expect(
      keyConsoleLine('hearth-initrd: the root filesystem has no /sbin/init\nKernel panic - not syncing: x'),
    ).toBe('hearth-initrd: the root filesystem has no /sbin/init');
    expect(keyConsoleLine('all fine')).toBeNull();
    const many = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
    expect(consoleTailReason(many).split('\n')).toHaveLength(15);
  });
});
