import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GuestLogRecord } from '@hearth/contract';
import { selection, sendLogs, type LogSink } from './read.ts';
import { AppLogStore, bootTag, type StoredLine } from './store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (s: number): GuestLogRecord => ({
  s,
  t: new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString(),
  o: s % 2 ? 'stdout' : 'stderr',
  l: `line ${s}`,
});

function collect() {
  const chunks: string[] = [];
  let leave!: () => void;
  let gone = false;
  const sink: LogSink & { leave(): void } = {
    write: async (s) => void chunks.push(s),
    gone: new Promise((r) => (leave = r)),
    isGone: () => gone,
    leave: () => {
      gone = true;
      leave();
    },
  };
  return { chunks, sink };
}

describe('reading app logs', () => {
  it('filters streams and time, keeps the tail, prefixes timestamps, speaks ndjson', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-read-'));
    dirs.push(dir);
    const store = new AppLogStore(dir, { maxBytes: 4096, maxFiles: 4 });
    await store.append('b', [1, 2, 3, 4, 5, 6, 7, 8].map(rec));
    const live = new EventEmitter();
    const a = collect();
    await sendLogs(
      store.files(),
      live,
      'vm',
      selection({ format: 'text', stderr: 'false', tail: '2' }),
      a.sink,
    );
    expect(a.chunks.join('')).toBe('line 5\nline 7\n');
    const b = collect();
    const sel = selection({
      format: 'text',
      timestamps: 'true',
      since: '2026-01-01T00:00:03Z',
      until: '1767225604',
    });
    await sendLogs(store.files(), live, 'vm', sel, b.sink);
    expect(b.chunks.join('')).toBe('2026-01-01T00:00:03.000Z line 3\n2026-01-01T00:00:04.000Z line 4\n');
    const c = collect();
    await sendLogs(store.files(), live, 'vm', selection({ format: 'ndjson', tail: '1' }), c.sink);
    expect(JSON.parse(c.chunks[0]!)).toEqual({
      t: '2026-01-01T00:00:08.000Z',
      stream: 'stderr',
      line: 'line 8',
    });
    expect(() => selection({ format: 'text', tail: 'many' })).toThrow(/tail/);
  });

  it('follows: stored lines, then new ones once each, until the client leaves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-read-'));
    dirs.push(dir);
    const store = new AppLogStore(dir);
    await store.append('b', [rec(1), rec(2)]);
    const live = new EventEmitter();
    const f = collect();
    const done = sendLogs(store.files(), live, 'vm', selection({ format: 'text', follow: 'true' }), f.sink);
    const b = bootTag('b');
    // A line stored before the follow read the files is announced again: sent once.
    live.emit('vm', [{ t: rec(2).t, o: 'stderr', l: 'line 2', b, s: 2 } satisfies StoredLine]);
    while (f.chunks.length < 2) await new Promise((r) => setTimeout(r, 5));
    await store.append('b', [rec(3)]);
    live.emit('vm', [{ t: rec(3).t, o: 'stdout', l: 'line 3', b, s: 3 } satisfies StoredLine]);
    while (f.chunks.length < 3) await new Promise((r) => setTimeout(r, 5));
    f.sink.leave();
    await done;
    expect(f.chunks.join('')).toBe('line 1\nline 2\nline 3\n');
    expect(live.listenerCount('vm')).toBe(0);
  });
});
