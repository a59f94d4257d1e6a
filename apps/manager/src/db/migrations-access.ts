import type { Migration } from './migrations-later.ts';

/** Migration 54: passes for the HTTP proxy in browsers (store/tickets.ts). */
export const ACCESS_MIGRATIONS: Migration[] = [
  {
    version: 54,
    name: 'proxy passes (the HTTP proxy in browsers)',
    // A pass opens one port of one VM through the proxy for a while: its hash, what it opens, and
    // who asked (that principal's role is checked again at every request).
    sql: `
CREATE TABLE proxy_passes (
  hash text PRIMARY KEY,
  vm_id text NOT NULL,
  port integer NOT NULL,
  project text NOT NULL,
  principal jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX proxy_passes_expiry ON proxy_passes (expires_at)
`,
  },
];
