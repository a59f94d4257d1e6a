import type { Migration } from './migrations-later.ts';

/** Migrations 44, 45 and 47: placement, host failure handling, live migration and drain. */
export const CLUSTER_MIGRATIONS: Migration[] = [
  {
    version: 44,
    name: 'placement: host labels, overcommit, VM selectors and anti-affinity groups',
    // Overcommit NULL: the manager's configured default. The partial index serves the
    // anti-affinity check, which reads a group's hosts at every create in that group.
    sql: `
ALTER TABLE hosts ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE hosts ADD COLUMN cpu_overcommit double precision;
ALTER TABLE hosts ADD COLUMN memory_overcommit double precision;
ALTER TABLE vms ADD COLUMN host_selector jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE vms ADD COLUMN anti_affinity_group text;
CREATE INDEX vms_anti_affinity ON vms (project, anti_affinity_group) WHERE anti_affinity_group IS NOT NULL
`,
  },
  {
    version: 45,
    name: 'host failure handling (dead hosts, VM restart policy, fences)',
    // A fence: a VM the host must destroy if its agent comes back, because the host was declared
    // dead and the VM was restarted elsewhere or marked lost. Kept until the agent no longer has it.
    sql: `
ALTER TABLE hosts ADD COLUMN dead_at timestamptz;
ALTER TABLE vms ADD COLUMN restart_policy text NOT NULL DEFAULT 'no';
CREATE TABLE host_fences (
  host_id text NOT NULL,
  vm_id text NOT NULL,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (host_id, vm_id)
)
`,
  },
  {
    version: 47,
    name: 'live migration and drain',
    // The VM's last move between hosts (from, to, mode, downtime, total), and a host's drain
    // progress (which VMs moved, which failed); both shown as they are, null when never done.
    sql: `ALTER TABLE vms ADD COLUMN last_migration jsonb;
ALTER TABLE hosts ADD COLUMN drain jsonb`,
  },
];
