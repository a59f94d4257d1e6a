import type { Migration } from './migrations-later.ts';

/** Migration 56: diff snapshots name their base (services/snapshot-service.ts). */
export const SNAPSHOT_MIGRATIONS: Migration[] = [
  {
    version: 56,
    name: 'diff snapshot bases',
    // A diff snapshot holds only the memory changed since its base; restoring it needs the base's
    // memory, so the base cannot be deleted while a diff names it. No foreign key: the snapshot
    // service refuses the delete with the dependents' names, and a backup restore loads rows in
    // any order.
    sql: `
ALTER TABLE snapshots ADD COLUMN base_id text;
CREATE INDEX snapshots_base ON snapshots (base_id) WHERE base_id IS NOT NULL
`,
  },
];
