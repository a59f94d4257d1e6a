import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { withBuildLock } from './cache.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs builds of one artefact one after the other, and releases the lock', async () => {
  const path = join(dir, 'a');
  const order: string[] = [];
  let releaseFirst!: () => void;
  const firstMayEnd = new Promise<void>((r) => (releaseFirst = r));
  const first = withBuildLock(path, async () => {
    order.push('first in');
    await firstMayEnd;
    order.push('first out');
  });
  await new Promise<void>((r) => setImmediate(r));
  const second = withBuildLock(path, async () => void order.push('second'));
  // The second waits for the lock while the first holds it.
  await new Promise<void>((r) => setImmediate(r));
  releaseFirst();
  await Promise.all([first, second]);
  expect(order).toEqual(['first in', 'first out', 'second']);
  expect(existsSync(`${path}.lock`)).toBe(false);
});

it('takes over a lock whose owner is gone', async () => {
  const path = join(dir, 'b');
  const gone = spawnSync(process.execPath, [
    '-e',
    'process.stdout.write(String(process.pid))',
  ]).stdout.toString();
  writeFileSync(`${path}.lock`, gone);
  expect(await withBuildLock(path, async () => 'built')).toBe('built');
});
