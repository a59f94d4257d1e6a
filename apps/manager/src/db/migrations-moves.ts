import type { Migration } from './migrations-later.ts';

/** Migration 50: drain policy per VM and moves between hosts in flight (services/vms/move-*.ts). */
export const MOVE_MIGRATIONS: Migration[] = [
  {
    version: 50,
    name: 'drain policy and moves in flight',
    // A move in flight is recorded before the destination is asked for anything and removed once
    // the source copy is gone (or the move was given up): a manager that starts (or leads) and
    // finds one whose replica is gone resolves it (move-recovery.ts). `phase` says how far it got.
    sql: `
ALTER TABLE vms ADD COLUMN drain_policy text NOT NULL DEFAULT 'migrate';
CREATE TABLE vm_moves (
  vm_id text PRIMARY KEY,
  from_host text NOT NULL,
  to_host text NOT NULL,
  mode text NOT NULL,
  phase text NOT NULL,
  replica text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
)
`,
  },
];
