import type { Db } from './db.ts';
import { LATER_MIGRATIONS, type Migration } from './migrations-later.ts';
import { REPLICA_MIGRATIONS } from './migrations-replicas.ts';
import { CLUSTER_MIGRATIONS } from './migrations-cluster.ts';
import { ACCESS_MIGRATIONS } from './migrations-access.ts';
import { SNAPSHOT_MIGRATIONS } from './migrations-snapshots.ts';
import { MOVE_MIGRATIONS } from './migrations-moves.ts';
import { SCAN_MIGRATIONS } from './migrations-scans.ts';

/** Versioned migrations, applied in order, once. Never edit a released one: add the next. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE hosts (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  url text NOT NULL,
  callback_token text NOT NULL,
  state text NOT NULL DEFAULT 'ready',
  cordoned boolean NOT NULL DEFAULT false,
  inventory jsonb NOT NULL,
  last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tokens (
  id text PRIMARY KEY,
  kind text NOT NULL,
  name text NOT NULL,
  hash text NOT NULL UNIQUE,
  host_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE images (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  kind text NOT NULL,
  format text NOT NULL,
  arch text NOT NULL,
  size_bytes bigint NOT NULL,
  sha256 text NOT NULL,
  source text NOT NULL,
  path text NOT NULL,
  builtin boolean NOT NULL DEFAULT false,
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE vms (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  state text NOT NULL,
  desired_state text NOT NULL,
  state_reason text,
  vcpus int NOT NULL,
  memory_mib int NOT NULL,
  disk_mib int NOT NULL,
  image_id text NOT NULL REFERENCES images(id),
  kernel_id text NOT NULL REFERENCES images(id),
  vmm text,
  accel text,
  host_id text REFERENCES hosts(id),
  ip text,
  mac text,
  pid int,
  env jsonb NOT NULL DEFAULT '{}',
  labels jsonb NOT NULL DEFAULT '{}',
  timeout text,
  stop_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  CONSTRAINT vms_project_name UNIQUE (project, name)
);
CREATE UNIQUE INDEX vms_ip ON vms (ip) WHERE ip IS NOT NULL;
CREATE INDEX vms_host ON vms (host_id);
CREATE TABLE vm_events (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  vm_id text NOT NULL,
  type text NOT NULL,
  from_state text,
  to_state text,
  actor text NOT NULL,
  reason text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vm_events_vm ON vm_events (vm_id, seq);
CREATE TABLE idempotency_keys (
  key text NOT NULL,
  principal text NOT NULL,
  request_hash text NOT NULL,
  status int NOT NULL,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, principal)
);
`,
  },
  {
    version: 2,
    name: 'guest agent credentials',
    // The per-VM channel secret and the users to set up at boot (password hashes only, never passwords).
    sql: `ALTER TABLE vms ADD COLUMN guest jsonb NOT NULL DEFAULT '{}'`,
  },
  {
    version: 3,
    name: 'snapshots',
    // vm_id and the image ids are not foreign keys: a snapshot outlives its VM, and a deleted
    // image must make restore fail clearly rather than block the delete.
    sql: `
CREATE TABLE snapshots (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  vm_id text,
  vm_name text NOT NULL,
  host_id text NOT NULL REFERENCES hosts(id),
  parent_id text REFERENCES snapshots(id) ON DELETE SET NULL,
  state text NOT NULL,
  size_bytes bigint NOT NULL DEFAULT 0,
  vmm text NOT NULL,
  vmm_version text NOT NULL DEFAULT '',
  type text NOT NULL DEFAULT 'full',
  kernel_id text NOT NULL,
  kernel_sha256 text NOT NULL,
  image_id text NOT NULL,
  image_sha256 text NOT NULL,
  vcpus int NOT NULL,
  memory_mib int NOT NULL,
  disk_mib int NOT NULL,
  env jsonb NOT NULL DEFAULT '{}',
  guest jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT snapshots_project_name UNIQUE (project, name)
);
CREATE INDEX snapshots_vm ON snapshots (vm_id);
ALTER TABLE vms ADD COLUMN snapshot_id text
`,
  },
  {
    version: 4,
    name: 'volumes',
    // vm_id is not a foreign key on purpose: deleting a VM detaches its volumes, it never deletes them.
    sql: `
CREATE TABLE volumes (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  size_mib int NOT NULL,
  format text NOT NULL,
  host_id text NOT NULL REFERENCES hosts(id),
  vm_id text,
  read_only boolean NOT NULL DEFAULT false,
  attached_at timestamptz,
  image_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT volumes_project_name UNIQUE (project, name)
);
CREATE INDEX volumes_vm ON volumes (vm_id)
`,
  },
  {
    version: 5,
    name: 'templates',
    sql: `
CREATE TABLE templates (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  description text NOT NULL DEFAULT '',
  spec jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT templates_project_name UNIQUE (project, name)
)
`,
  },
  {
    version: 6,
    name: 'published ports',
    sql: `ALTER TABLE vms ADD COLUMN ports jsonb NOT NULL DEFAULT '[]'`,
  },
  {
    version: 10,
    name: 'image upload status',
    // Uploads are declared first (pending) and become ready once content with the declared sha256 arrived.
    sql: `ALTER TABLE images ADD COLUMN status text NOT NULL DEFAULT 'ready'`,
  },
  {
    version: 11,
    name: 'networks',
    // vm_nics is the truth for addresses (unique per network); vms.nics mirrors it for reads.
    sql: `
CREATE TABLE networks (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  mode text NOT NULL,
  cidr text,
  gateway text,
  dns jsonb NOT NULL DEFAULT '[]',
  iface text,
  vlan int,
  vni int,
  port int,
  bridge text NOT NULL UNIQUE,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX networks_vni ON networks (vni) WHERE vni IS NOT NULL;
CREATE TABLE vm_nics (
  vm_id text NOT NULL,
  idx int NOT NULL,
  network_id text NOT NULL REFERENCES networks(id),
  mac text NOT NULL UNIQUE,
  ip text,
  source text NOT NULL,
  PRIMARY KEY (vm_id, idx)
);
CREATE UNIQUE INDEX vm_nics_ip ON vm_nics (network_id, ip) WHERE ip IS NOT NULL;
CREATE INDEX vm_nics_network ON vm_nics (network_id);
ALTER TABLE vms ADD COLUMN nics jsonb NOT NULL DEFAULT '[]';
ALTER TABLE vms ADD COLUMN egress jsonb;
ALTER TABLE vms ADD COLUMN bandwidth_mbit int;
ALTER TABLE snapshots ADD COLUMN networks jsonb NOT NULL DEFAULT '[]';
DROP INDEX vms_ip
`,
  },
  {
    version: 12,
    name: 'identity',
    // Projects are namespaces keyed by their (immutable) name, which resource rows already carry.
    // Every label in use becomes a project so no resource is left outside one. Images and
    // networks gain a project; NULL means global (built-in images, the shared default network).
    sql: `
CREATE TABLE users (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  display_name text NOT NULL DEFAULT '',
  email text,
  password_hash text,
  admin boolean NOT NULL DEFAULT false,
  disabled boolean NOT NULL DEFAULT false,
  oidc_issuer text,
  oidc_subject text,
  default_project text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz
);
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;
CREATE TABLE projects (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  quotas jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO projects (id, name, description) VALUES ('prj_default', 'default', 'The default project');
INSERT INTO projects (id, name)
  SELECT 'prj_' || substr(md5(p), 1, 20), p FROM (
    SELECT project AS p FROM vms UNION SELECT project FROM volumes
    UNION SELECT project FROM snapshots UNION SELECT project FROM templates
  ) used WHERE p <> 'default'
ON CONFLICT DO NOTHING;
CREATE TABLE memberships (
  project text NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE TABLE sessions (
  id text PRIMARY KEY,
  hash text NOT NULL UNIQUE,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf text NOT NULL,
  source text,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
ALTER TABLE tokens ADD COLUMN user_id text REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE tokens ADD COLUMN last_used_at timestamptz;
ALTER TABLE tokens ADD COLUMN role text;
ALTER TABLE tokens ADD COLUMN project text;
CREATE INDEX tokens_user ON tokens (user_id);
CREATE TABLE tickets (
  hash text PRIMARY KEY,
  principal jsonb NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE TABLE audit (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  at timestamptz NOT NULL DEFAULT now(),
  actor_kind text NOT NULL,
  actor_id text,
  actor_name text NOT NULL,
  token_id text,
  source text,
  action text NOT NULL,
  method text,
  path text,
  target text,
  project text,
  outcome text NOT NULL,
  status int,
  code text,
  request_id text
);
CREATE INDEX audit_at ON audit (at);
ALTER TABLE networks ADD COLUMN project text;
ALTER TABLE networks DROP CONSTRAINT networks_name_key;
CREATE UNIQUE INDEX networks_global_name ON networks (name) WHERE project IS NULL;
CREATE UNIQUE INDEX networks_project_name ON networks (project, name) WHERE project IS NOT NULL;
ALTER TABLE images ADD COLUMN project text;
ALTER TABLE images DROP CONSTRAINT images_name_key;
CREATE UNIQUE INDEX images_global_name ON images (name) WHERE project IS NULL;
CREATE UNIQUE INDEX images_project_name ON images (project, name) WHERE project IS NOT NULL
`,
  },
  {
    version: 14,
    name: 'token_revocation',
    // A revoked bootstrap admin token keeps its row, marked revoked: a manager restart then sees
    // that the bootstrap credential was given up and does not issue a new one.
    sql: `
ALTER TABLE tokens ADD COLUMN revoked_at timestamptz
`,
  },
  {
    version: 18,
    name: 'host_credentials',
    // Join tokens become per host or per batch: a number of registrations left (NULL: unlimited,
    // the data directory's bootstrap token); their revocation time is migration 14's.
    sql: `
ALTER TABLE tokens ADD COLUMN uses_left integer
`,
  },
  ...LATER_MIGRATIONS,
  ...CLUSTER_MIGRATIONS,
  ...REPLICA_MIGRATIONS,
  ...ACCESS_MIGRATIONS,
  ...MOVE_MIGRATIONS,
  ...SNAPSHOT_MIGRATIONS,
  ...SCAN_MIGRATIONS,
  // Kept in several files by area; applied in version order whatever the file.
].sort((a, b) => a.version - b.version);

/**
 * Key of the transaction-scoped advisory lock migrations take: managers sharing one PostgreSQL
 * start together (a fleet rebooting, a rolling upgrade), and each migration must run once. Any
 * fixed 64-bit number works; this one spells "hearth" in ASCII.
 */
export const MIGRATION_LOCK = 0x686561727468;

/**
 * Applies the pending migrations, each in its own transaction that first takes MIGRATION_LOCK and
 * then checks again whether another manager applied it meanwhile: a manager that waited on the
 * lock skips what the first one did instead of failing on "relation already exists". Returns the
 * versions this call applied.
 */
export async function migrate(db: Db): Promise<number[]> {
  const lock = (tx: Pick<Db, 'query'>) => tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  // CREATE TABLE IF NOT EXISTS is not safe against itself run concurrently (both may try to
  // create the table's row type): under the lock too.
  const done = await db.transaction(async (tx) => {
    await lock(tx);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    return new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version),
    );
  });
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    const ran = await db.transaction(async (tx) => {
      await lock(tx);
      const already = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (already.length) return false;
      for (const stmt of m.sql
        .split(/;\s*\n/)
        .map((s) => s.trim())
        .filter(Boolean))
        await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (ran) applied.push(m.version);
  }
  return applied;
}
