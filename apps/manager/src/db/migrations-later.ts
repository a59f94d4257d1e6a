/** One schema change, applied once, in version order; a version is never reused or edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Pools, the boot profile, indexes for the control plane and the hardening columns (19 on). */
export const LATER_MIGRATIONS: Migration[] = [
  {
    version: 19,
    name: 'pools',
    // Warm pools; a VM belongs to a pool while `pooled` and keeps the pool's name once handed out.
    // boot_profile: where the VM's last start-up time went (steps measured by manager and host).
    sql: `
CREATE TABLE pools (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  spec jsonb NOT NULL,
  mode text NOT NULL,
  size integer NOT NULL,
  hits integer NOT NULL DEFAULT 0,
  misses integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, name)
);
ALTER TABLE vms ADD COLUMN pool text;
ALTER TABLE vms ADD COLUMN boot_profile jsonb;
CREATE INDEX vms_pool ON vms (pool, state) WHERE pool IS NOT NULL
`,
  },
  {
    version: 24,
    name: 'control',
    // A project's VM list walks (project, id) in id order a page at a time; an image's users are
    // found by image or kernel (every image read, and the refusal to delete one in use); placement
    // sums what the VMs holding a host's CPUs and memory use (the states of hosts.ts ACTIVE).
    sql: `
CREATE INDEX vms_project_id ON vms (project, id);
CREATE INDEX vms_image ON vms (image_id);
CREATE INDEX vms_kernel ON vms (kernel_id);
CREATE INDEX vms_host_active ON vms (host_id) INCLUDE (vcpus, memory_mib)
  WHERE state IN ('starting', 'running', 'pausing', 'paused', 'resuming', 'stopping')
`,
  },
  {
    version: 25,
    name: 'snapshot pools',
    // A pool in `snapshot` mode restores its VMs from one snapshot of a VM booted from its spec.
    sql: `
ALTER TABLE pools ADD COLUMN snapshot_id text
`,
  },
  {
    version: 26,
    name: 'control-filters',
    // A project's VM list filtered by state, or by name prefix (`name LIKE 'web-%'`, which the
    // unique (project, name) index cannot serve under a non-C collation), reads a page from an
    // index instead of scanning and sorting every VM.
    sql: `
CREATE INDEX vms_project_state_id ON vms (project, state, id);
CREATE INDEX vms_project_name_prefix ON vms (project, name text_pattern_ops)
`,
  },
  {
    version: 27,
    name: 'netsec',
    // Cloud instance metadata (169.254.0.0/16) is blocked from guests unless a network opts in.
    sql: `ALTER TABLE networks ADD COLUMN allow_metadata boolean NOT NULL DEFAULT false`,
  },
  {
    version: 29,
    name: 'ops',
    // Each claim of an Idempotency-Key carries its own id, so a request whose stale claim was taken
    // over (the manager crashed mid-request) can no longer complete or release the new one; keys
    // are swept by age.
    sql: `
ALTER TABLE idempotency_keys ADD COLUMN claim text;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)
`,
  },
  {
    version: 30,
    name: 'agent certificate pins',
    // The SHA-256 fingerprints of the certificates the manager accepts from each host's agent (the
    // one issued or supplied at its last registration or rotation; two while a rotation's answer
    // was lost); any older certificate of the host is refused. NULL: registered before pinning
    // (the CA and host-name checks only, until the agent registers again). Whether the manager
    // issues the host's certificates (re-issued at each rotation) or the operator supplied it.
    sql: `
ALTER TABLE hosts ADD COLUMN tls_pins jsonb;
ALTER TABLE hosts ADD COLUMN tls_issued boolean NOT NULL DEFAULT false
`,
  },
  {
    version: 31,
    name: 'containers',
    // Containers: an OCI image's process as the only workload of its VM. `phase` is what the
    // container is before and after its VM (creating, pulling, failed, removing) or `vm`, when
    // its state is derived from the VM's state and app status at read time (one join, no copy to
    // keep in step). `user_stopped`: the last stop was a user's (restart policies respect it).
    // Events are the container's own history (pulls, starts, exits, restarts, health changes).
    sql: `
CREATE TABLE containers (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  image text NOT NULL,
  spec jsonb NOT NULL,
  phase text NOT NULL,
  phase_reason text,
  pull jsonb,
  image_id text,
  image_digest text,
  vm_id text,
  user_stopped boolean NOT NULL DEFAULT false,
  restarts integer NOT NULL DEFAULT 0,
  seen jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, name)
);
CREATE INDEX containers_project_id ON containers (project, id);
CREATE INDEX containers_project_name_prefix ON containers (project, name text_pattern_ops);
CREATE INDEX containers_vm ON containers (vm_id);
CREATE TABLE container_events (
  seq bigserial PRIMARY KEY,
  container_id text NOT NULL,
  type text NOT NULL,
  message text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX container_events_container ON container_events (container_id, seq)
`,
  },
  {
    version: 32,
    name: 'registry credentials',
    // Credentials for private registries, per project and registry host (host[:port]). The password
    // is sealed (AES-256-GCM, crypto/sealed.ts) with a key that is never in the database.
    sql: `
CREATE TABLE registry_credentials (
  project text NOT NULL,
  registry text NOT NULL,
  username text NOT NULL,
  password_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project, registry)
)
`,
  },
  {
    version: 33,
    name: 'secrets',
    // Project secrets for containers' secretEnv: the value sealed (AES-256-GCM, key outside the
    // database), never returned by the API.
    sql: `
CREATE TABLE secrets (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, name)
)
`,
  },
  {
    version: 34,
    name: 'app status',
    // What the guest agent last reported about the app it supervises (OCI images and containers):
    // its state, exit code, restarts and health. NULL for VMs without an app.
    sql: `ALTER TABLE vms ADD COLUMN app jsonb`,
  },
  {
    version: 35,
    name: 'dns aliases',
    // Extra names a VM's networks' DNS forwarders publish for it (a container's network aliases,
    // compose service names), besides the VM's own name.
    sql: `ALTER TABLE vms ADD COLUMN dns_aliases jsonb NOT NULL DEFAULT '[]'::jsonb`,
  },
  {
    version: 36,
    name: 'e2b sandboxes',
    // The E2B-compatible API's sandboxes (e2b/): each is one VM, with its envd access token as a
    // hash (checked on every envd call) and sealed (connect hands it out again; the key is outside
    // the database), its metadata, its absolute end (killed, or paused when auto_pause, once past)
    // and the E2B template id it was created from.
    sql: `
CREATE TABLE e2b_sandboxes (
  id text PRIMARY KEY,
  vm_id text NOT NULL,
  project text NOT NULL,
  template_id text NOT NULL,
  token_hash text NOT NULL,
  token_sealed text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  auto_pause boolean NOT NULL DEFAULT false,
  started_at timestamptz NOT NULL DEFAULT now(),
  end_at timestamptz NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX e2b_sandboxes_project ON e2b_sandboxes (project, started_at);
CREATE INDEX e2b_sandboxes_end ON e2b_sandboxes (end_at)
`,
  },
  {
    version: 37,
    name: 'e2b sandbox traffic',
    // Whether a sandbox's ports are reachable by host name without its traffic access token
    // (E2B's network.allowPublicTraffic; the token itself derives from the envd token).
    sql: `ALTER TABLE e2b_sandboxes ADD COLUMN public_traffic boolean NOT NULL DEFAULT true`,
  },
  {
    version: 38,
    name: 'functions',
    // Serverless functions: each deploy is an immutable version (its code, and the snapshot of a
    // VM with the handler loaded); aliases point at versions; logs are per invocation (an
    // asynchronous one's row is `pending` until it ends, then holds its result).
    sql: `
CREATE TABLE functions (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  config jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, name)
);
CREATE TABLE function_versions (
  function_id text NOT NULL,
  version integer NOT NULL,
  runtime text NOT NULL,
  handler text NOT NULL,
  files jsonb NOT NULL,
  config jsonb NOT NULL,
  state text NOT NULL,
  snapshot_id text,
  error text,
  build_ms integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (function_id, version)
);
CREATE TABLE function_aliases (
  function_id text NOT NULL,
  alias text NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (function_id, alias)
);
CREATE TABLE function_logs (
  seq bigserial PRIMARY KEY,
  function_id text NOT NULL,
  request_id text NOT NULL,
  version integer NOT NULL,
  status text NOT NULL,
  duration_ms integer NOT NULL,
  cold boolean NOT NULL,
  logs text NOT NULL,
  result jsonb,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX function_logs_function ON function_logs (function_id, seq);
CREATE INDEX function_logs_request ON function_logs (function_id, request_id);
CREATE INDEX function_logs_at ON function_logs (function_id, at)
`,
  },
  {
    version: 39,
    name: 'metric samples',
    // The charts' history (services/metrics/history.ts): tier 0 holds the raw samples (one per
    // 10 s, kept an hour), tier 1 their one-minute averages (kept a day). Values are a fixed-order
    // float4 array per kind: a row costs the same whatever the series names.
    sql: `
CREATE TABLE metric_samples (
  kind text NOT NULL,
  subject text NOT NULL,
  tier smallint NOT NULL,
  at timestamptz NOT NULL,
  v real[] NOT NULL,
  PRIMARY KEY (kind, subject, tier, at)
);
CREATE INDEX metric_samples_age ON metric_samples (tier, at)
`,
  },
  {
    version: 40,
    name: 'webhooks',
    // A project's subscriptions to events (the HMAC secret sealed, with a key outside the database)
    // and their deliveries: the outbox the delivery loop works from (pending, due at
    // next_attempt_at) and the log the API shows, kept to the last 100 per webhook.
    sql: `
CREATE TABLE webhooks (
  id text PRIMARY KEY,
  project text NOT NULL,
  url text NOT NULL,
  events jsonb NOT NULL,
  secret_sealed text NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_project ON webhooks (project);
CREATE TABLE webhook_deliveries (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id text NOT NULL,
  event text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  response_code integer,
  last_error text,
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending'
`,
  },
  {
    version: 41,
    name: 'snapshot schedules',
    // Cron-driven snapshots with retention (services/schedules/), the schedule a snapshot was
    // taken by (pruning touches only those) and the volumes copied with a snapshot.
    sql: `
CREATE TABLE snapshot_schedules (
  id text PRIMARY KEY,
  name text NOT NULL,
  project text NOT NULL,
  vm_id text,
  selector jsonb,
  cron text NOT NULL,
  keep_count integer,
  keep_age_s integer,
  memory boolean NOT NULL DEFAULT true,
  enabled boolean NOT NULL DEFAULT true,
  next_run_at timestamptz,
  last_run_at timestamptz,
  last_error text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, name)
);
CREATE INDEX snapshot_schedules_due ON snapshot_schedules (next_run_at) WHERE enabled;
ALTER TABLE snapshots ADD COLUMN volumes jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE snapshots ADD COLUMN schedule_id text;
CREATE INDEX snapshots_schedule ON snapshots (schedule_id, vm_id, created_at) WHERE schedule_id IS NOT NULL
`,
  },
  {
    version: 42,
    name: 'e2b pause to disk',
    // A paused sandbox's memory and disk snapshot (its VM is stopped meanwhile): connect restores
    // it in place, kill deletes it. No foreign key: the sandbox deletes it itself.
    sql: `ALTER TABLE e2b_sandboxes ADD COLUMN paused_snapshot text`,
  },
  {
    version: 43,
    name: 'disk-only snapshots (snapshot kind)',
    // `disk`: the root disk and volumes without memory or device state, restored by a cold boot;
    // every snapshot before this one holds memory.
    sql: `ALTER TABLE snapshots ADD COLUMN kind text NOT NULL DEFAULT 'memory'`,
  },
  {
    version: 48,
    name: 'snapshot checksums',
    // files: sha256 of each file of the snapshot's directory, computed by its host when it became
    // ready (the files never change after), so a backup lists them without reading them again.
    // verify: set by a backup restore; the host's next heartbeat checks them and clears it.
    // problem: what that check found (missing, differing), null when fine.
    sql: `
ALTER TABLE snapshots ADD COLUMN files jsonb;
ALTER TABLE snapshots ADD COLUMN verify boolean NOT NULL DEFAULT false;
ALTER TABLE snapshots ADD COLUMN problem text;
CREATE INDEX snapshots_verify ON snapshots (host_id) WHERE verify
`,
  },
];
