import type { Migration } from './migrations-later.ts';

/** Migration 46: replicated managers (services/replicas/). */
export const REPLICA_MIGRATIONS: Migration[] = [
  {
    version: 46,
    name: 'replicated managers (leader lease, replicas)',
    // Several managers on one PostgreSQL: the one holding the 'leader' lease row runs background
    // work (services/replicas/leader.ts); every replica renews its row in manager_replicas; a VM
    // operation in flight is recorded with its replica so that no other one drives it again.
    sql: `
CREATE TABLE manager_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL DEFAULT 1,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE TABLE manager_replicas (
  id text PRIMARY KEY,
  url text NOT NULL DEFAULT '',
  started_at timestamptz NOT NULL DEFAULT now(),
  seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE manager_operations (
  vm_id text PRIMARY KEY,
  replica text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
)
`,
  },
];
