import type { Migration } from './migrations-later.ts';

/** Migration 57: indexes for the loops that run over many VMs (store/vm-scans.ts). */
export const SCAN_MIGRATIONS: Migration[] = [
  {
    version: 57,
    name: 'running VMs by stop time',
    // The timeout sweep runs every second: it reads the running VMs whose stop time passed from
    // this index alone, however many VMs are recorded.
    sql: `
CREATE INDEX vms_running_stop_at ON vms (stop_at) WHERE state = 'running' AND stop_at IS NOT NULL
`,
  },
];
