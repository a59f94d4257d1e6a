import type { Migration } from './migrations-later.ts';

/** Migrations 46 and 55: replicated managers (services/replicas/). */
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
  {
    version: 55,
    name: 'idempotency keys name the manager process that claimed them',
    // A key left "in progress" by a manager process that is gone (its replica no longer renews its
    // presence, or restarted as another process) is taken over at once instead of after the
    // pending timeout (store/idempotency.ts). NULL: claimed before this, or without replicas.
    sql: `ALTER TABLE idempotency_keys ADD COLUMN replica text`,
  },
];
