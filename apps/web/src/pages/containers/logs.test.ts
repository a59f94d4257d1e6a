import { describe, expect, it } from 'vitest';
import { appendRecords, filterLines, lineTime, logsQuery, splitMatches, type LogEntry } from './logs.ts';

const rec = (line: string, stream: 'stdout' | 'stderr' = 'stdout', t = '2026-12-05T10:00:00.000Z') => ({
  t,
  stream,
  line,
});

describe('container log lines', () => {
  it('numbers lines in arrival order, skips what is not a log line, and keeps at most max', () => {
    let kept: LogEntry[] = [];
    kept = appendRecords(kept, [rec('a'), { type: 'other' }, rec('b', 'stderr')]);
    expect(kept.map((l) => [l.n, l.line, l.stream])).toEqual([
      [1, 'a', 'stdout'],
      [2, 'b', 'stderr'],
    ]);
    const same = appendRecords(kept, [{ nope: true }]);
    expect(same).toBe(kept);
    kept = appendRecords(kept, [rec('c'), rec('d')], 3);
    expect(kept.map((l) => [l.n, l.line])).toEqual([
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
  });

  it('filters by stream and by text, case-insensitively', () => {
    const lines = appendRecords(
      [],
      [rec('GET /index.html 200'), rec('error: disk full', 'stderr'), rec('GET /missing 404')],
    );
    const f = { search: '', stdout: true, stderr: true };
    expect(filterLines(lines, f)).toHaveLength(3);
    expect(filterLines(lines, { ...f, stderr: false }).map((l) => l.line)).toEqual([
      'GET /index.html 200',
      'GET /missing 404',
    ]);
    expect(filterLines(lines, { ...f, stdout: false }).map((l) => l.line)).toEqual(['error: disk full']);
    expect(filterLines(lines, { ...f, search: ' get ' }).map((l) => l.line)).toEqual([
      'GET /index.html 200',
      'GET /missing 404',
    ]);
    expect(filterLines(lines, { ...f, search: '404', stdout: false })).toEqual([]);
    expect(filterLines(lines, { search: '', stdout: false, stderr: false })).toEqual([]);
  });

  it('splits a line around each match for highlighting', () => {
    expect(splitMatches('abcABCab', 'ab')).toEqual([
      { text: 'ab', match: true },
      { text: 'c', match: false },
      { text: 'AB', match: true },
      { text: 'C', match: false },
      { text: 'ab', match: true },
    ]);
    expect(splitMatches('plain', '')).toEqual([{ text: 'plain', match: false }]);
    expect(splitMatches('plain', 'zz')).toEqual([{ text: 'plain', match: false }]);
  });

  it('asks for NDJSON with times, following or not', () => {
    expect(logsQuery(true)).toEqual({ format: 'ndjson', follow: 'true', tail: '1000', timestamps: 'true' });
    expect(logsQuery(false).follow).toBe('false');
  });

  it('prints the time of day to the millisecond', () => {
    const local = new Date(2026, 11, 5, 9, 3, 4, 5).toISOString();
    expect(lineTime(local)).toBe('09:03:04.005');
    expect(lineTime('not a time')).toBe('not a time');
  });
});
