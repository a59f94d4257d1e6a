import type { Snapshot } from '@hearth/contract';

export interface LineageRow {
  snap: Snapshot;
  /** 0 for a snapshot with no parent (or a parent that is gone), 1 for its children, … */
  depth: number;
}

/**
 * Orders snapshots as a forest: each root (newest first, as the API lists them) followed by its
 * descendants, depth-first. A parent that was deleted makes its children roots; a cycle (which the
 * API never makes) cannot loop, since every snapshot is placed once.
 */
export function lineage(snaps: Snapshot[]): LineageRow[] {
  const byId = new Map(snaps.map((s) => [s.id, s]));
  const children = new Map<string, Snapshot[]>();
  for (const s of snaps) {
    if (s.parent && byId.has(s.parent)) {
      const list = children.get(s.parent) ?? [];
      list.push(s);
      children.set(s.parent, list);
    }
  }
  const out: LineageRow[] = [];
  const placed = new Set<string>();
  const visit = (s: Snapshot, depth: number) => {
    if (placed.has(s.id)) return;
    placed.add(s.id);
    out.push({ snap: s, depth });
    for (const c of children.get(s.id) ?? []) visit(c, depth + 1);
  };
  for (const s of snaps) if (!s.parent || !byId.has(s.parent)) visit(s, 0);
  for (const s of snaps) visit(s, 0);
  return out;
}
