import { describe, expect, it } from 'vitest';
import type { Snapshot } from '@hearth/contract';
import { lineage } from './lineage.ts';

const snap = (id: string, parent: string | null = null) => ({ id, name: id, parent }) as Snapshot;

describe('snapshot lineage', () => {
  it('puts children under their parents, depth-first, and orphans at the top level', () => {
    const rows = lineage([snap('c', 'b'), snap('b', 'a'), snap('a'), snap('d', 'gone'), snap('e', 'a')]);
    expect(rows.map((r) => `${'  '.repeat(r.depth)}${r.snap.id}`)).toEqual(['a', '  b', '    c', '  e', 'd']);
  });

  it('places every snapshot once, even in a cycle', () => {
    expect(
      lineage([snap('x', 'y'), snap('y', 'x')])
        .map((r) => r.snap.id)
        .sort(),
    ).toEqual(['x', 'y']);
  });
});
