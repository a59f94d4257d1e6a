import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GuestLogRecord } from '@hearth/contract';
import { AppLogStore, type StoredLine } from './store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearth-applogs-'));
  dirs.push(d);
  return d;
}

const rec = (
  s: number,
  o: 'stdout' | 'stderr' = 'stdout',
  l = `line ${s} ${'x'.repeat(150)}`,
): GuestLogRecord => ({
  s,
  t: new Date(1_700_000_000_000 + s).toISOString(),
  o,
  l,
});

function readAll(store: AppLogStore): StoredLine[] {
  const out: StoredLine[] = [];
  for (const f of store.files()) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const l of text.split('\n').filter(Boolean)) out.push(JSON.parse(l) as StoredLine);
  }
  return out;
}

describe('app log store', () => {
  it('holds its cap under a flood: maxFiles files of at most maxBytes, the newest records, in order', async () => {
    const store = new AppLogStore(tmp(), { maxBytes: 64 * 1024, maxFiles: 3 });
    let s = 0;
    const pending: Promise<void>[] = [];
    for (let batch = 0; batch < 200; batch++) {
      const recs: GuestLogRecord[] = [];
      for (let i = 0; i < 50; i++) recs.push(rec(++s, i % 2 ? 'stderr' : 'stdout'));
      pending.push(store.append('boot-1', recs));
    }
    await Promise.all(pending);
    let total = 0;
    for (const f of store.files()) {
      const size = statSync(f).size;
      expect(size).toBeLessThanOrEqual(64 * 1024);
      total += size;
    }
    expect(total).toBeGreaterThan(2 * 64 * 1024); // the cap is used, not just respected
    const lines = readAll(store);
    expect(lines.at(-1)!.s).toBe(10_000);
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.s).toBe(lines[i - 1]!.s! + 1);
    expect(await store.cursor()).toEqual({ bootId: 'boot-1', seq: 10_000 });
  });

  it('a fresh store resumes from the records on disk even when cursor.json lags behind them', async () => {
    const dir = tmp();
    const a = new AppLogStore(dir);
    await a.append('3f2a9c1e-aaaa-bbbb-cccc-000000000000', [rec(1), rec(2), rec(3)]);
    // The agent stopped after writing records but before their cursor.
    writeFileSync(
      join(dir, 'app-logs', 'cursor.json'),
      JSON.stringify({ bootId: '3f2a9c1e-aaaa-bbbb-cccc-000000000000', seq: 1 }),
    );
    const b = new AppLogStore(dir);
    expect(await b.cursor()).toEqual({ bootId: '3f2a9c1e-aaaa-bbbb-cccc-000000000000', seq: 3 });
  });

  it('records a gap as a marker line', async () => {
    const store = new AppLogStore(tmp());
    await store.append('boot-1', [], [1, 9]);
    await store.append('boot-1', [rec(10)]);
    const lines = readAll(store);
    expect(lines[0]!.gap).toEqual([1, 9]);
    expect(lines[1]!.s).toBe(10);
    expect(await store.cursor()).toEqual({ bootId: 'boot-1', seq: 10 });
  });
});
