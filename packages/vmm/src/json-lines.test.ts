import { describe, expect, it } from 'vitest';
import { jsonLines } from './json-lines.ts';

describe('jsonLines', () => {
  it('joins a line split across chunks and skips blank, malformed and non-object lines', () => {
    const got: Record<string, unknown>[] = [];
    const feed = jsonLines((o) => got.push(o));
    feed('{"a":');
    expect(got).toEqual([]);
    feed('1}\n\n not json\n5\n[1]\n{"b":2}\n{"c"');
    expect(got).toEqual([{ a: 1 }, { b: 2 }]);
    feed(':3}\n');
    expect(got).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });
});
