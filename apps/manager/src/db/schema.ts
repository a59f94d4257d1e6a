import type {
  AppStatus,
  BootProfile,
  EgressPolicy,
  Host,
  HostDrain,
  HostInventory,
  LastMigration,
  Image,
  Pool,
  PoolSpec,
  PortMapping,
  ProjectRole,
  Snapshot,
  TemplateSpec,
  Vm,
  VmRestartPolicy,
  VmDrainPolicy,
  VmState,
  Volume,
} from '@hearth/contract';
import { sql } from 'drizzle-orm';
import { at, created } from './columns.ts';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
} from 'drizzle-orm/pg-core';

// The tables as migrations.ts creates them (that SQL stays the only source of DDL; schema.test.ts
// checks that both agree). Keys are the column names, so rows read as `row.host_id` everywhere.
// Defaults are declared only so inserts may omit those columns; the database supplies them.

const obj = sql`'{}'::jsonb`;
const arr = sql`'[]'::jsonb`;

/** Stored per VM: the guest channel secret and the users set up at boot. */
export interface VmGuest {
  secret: string;
  users: { name: string; passwordHash: string | null; sshKeys: string[] }[];
  /** cloud-init user data from the create request. */
  userData?: string;
}

/** `admin`: the bootstrap token; `user`: a user's API token; `join`/`agent`: hosts. */
export type TokenKind = 'admin' | 'join' | 'agent' | 'user';

/** Per-project limits; an absent key is unlimited. */
export interface ProjectQuotas {
  vms?: number;
  vcpus?: number;
  memoryMib?: number;
  diskMib?: number;
  snapshots?: number;
  volumes?: number;
  networks?: number;
  publishedPorts?: number;
}

export const hosts = pgTable('hosts', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  url: text('url').notNull(),
  callback_token: text('callback_token').notNull(),
  state: text('state').$type<Host['state']>().notNull().default('ready'),
  cordoned: boolean('cordoned').notNull().default(false),
  drain: jsonb('drain').$type<HostDrain>(),
  inventory: jsonb('inventory').$type<HostInventory>().notNull(),
  last_heartbeat_at: at('last_heartbeat_at').notNull().defaultNow(),
  created_at: created(),
  /** SHA-256 fingerprints (hex) of the only agent certificates accepted for this host; null: unpinned. */
  tls_pins: jsonb('tls_pins').$type<string[]>(),
  /** The manager issues this host's agent certificates (and re-issues them at rotation). */
  tls_issued: boolean('tls_issued').notNull().default(false),
  /** Placement (migration 44): labels VM host selectors match; overcommit ratios, NULL the default. */
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default(obj),
  cpu_overcommit: doublePrecision('cpu_overcommit'),
  memory_overcommit: doublePrecision('memory_overcommit'),
  /** When an operator declared the host dead; cleared when its agent comes back (fenced). */
  dead_at: at('dead_at'),
});

export const tokens = pgTable('tokens', {
  id: text('id').primaryKey(),
  kind: text('kind').$type<TokenKind>().notNull(),
  name: text('name').notNull(),
  hash: text('hash').notNull().unique(),
  host_id: text('host_id'),
  created_at: created(),
  user_id: text('user_id'),
  expires_at: at('expires_at'),
  last_used_at: at('last_used_at'),
  /** Role ceiling: the token never acts above it, whatever the user's roles. */
  role: text('role').$type<ProjectRole | 'admin'>(),
  /** Project scope: the token acts in this project only. */
  project: text('project'),
  /** Join tokens: registrations left (null: unlimited). */
  uses_left: integer('uses_left'),
  /** Revoked: the bootstrap admin token (never re-issued) and join tokens (so a refusal can say so). */
  revoked_at: at('revoked_at'),
});

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  display_name: text('display_name').notNull().default(''),
  email: text('email'),
  password_hash: text('password_hash'),
  admin: boolean('admin').notNull().default(false),
  disabled: boolean('disabled').notNull().default(false),
  oidc_issuer: text('oidc_issuer'),
  oidc_subject: text('oidc_subject'),
  default_project: text('default_project'),
  created_at: created(),
  last_sign_in_at: at('last_sign_in_at'),
});

export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  quotas: jsonb('quotas').$type<ProjectQuotas>().notNull().default(obj),
  created_at: created(),
});

export const memberships = pgTable(
  'memberships',
  {
    project: text('project').notNull(),
    user_id: text('user_id').notNull(),
    role: text('role').$type<ProjectRole>().notNull(),
    created_at: created(),
  },
  (t) => [primaryKey({ columns: [t.project, t.user_id] })],
);

export const sessions = pgTable('sessions', {
  id: text('id').primaryKey(),
  hash: text('hash').notNull().unique(),
  user_id: text('user_id').notNull(),
  csrf: text('csrf').notNull(),
  source: text('source'),
  user_agent: text('user_agent'),
  created_at: created(),
  last_seen_at: at('last_seen_at').notNull().defaultNow(),
  expires_at: at('expires_at').notNull(),
});

/** Short-lived, single-use credentials for WebSockets and the event stream (never a token in a URL). */
export const tickets = pgTable('tickets', {
  hash: text('hash').primaryKey(),
  principal: jsonb('principal').$type<Record<string, unknown>>().notNull(),
  expires_at: at('expires_at').notNull(),
});

export const audit = pgTable('audit', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull().unique(),
  at: at('at').notNull().defaultNow(),
  actor_kind: text('actor_kind').notNull(),
  actor_id: text('actor_id'),
  actor_name: text('actor_name').notNull(),
  token_id: text('token_id'),
  source: text('source'),
  action: text('action').notNull(),
  method: text('method'),
  path: text('path'),
  target: text('target'),
  project: text('project'),
  outcome: text('outcome').$type<'success' | 'failure' | 'denied'>().notNull(),
  status: integer('status'),
  code: text('code'),
  request_id: text('request_id'),
});

export const images = pgTable('images', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  kind: text('kind').$type<Image['kind']>().notNull(),
  format: text('format').notNull(),
  arch: text('arch').notNull(),
  size_bytes: bigint('size_bytes', { mode: 'number' }).notNull(),
  sha256: text('sha256').notNull(),
  source: text('source').notNull(),
  path: text('path').notNull(),
  builtin: boolean('builtin').notNull().default(false),
  meta: jsonb('meta').$type<Record<string, unknown>>().notNull().default(obj),
  created_at: created(),
  status: text('status').$type<Image['status']>().notNull().default('ready'),
  /** NULL: global (built-in images); otherwise the owning project. */
  project: text('project'),
});

export const vms = pgTable('vms', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  state: text('state').$type<VmState>().notNull(),
  desired_state: text('desired_state').$type<Vm['desiredState']>().notNull(),
  state_reason: text('state_reason'),
  vcpus: integer('vcpus').notNull(),
  memory_mib: integer('memory_mib').notNull(),
  disk_mib: integer('disk_mib').notNull(),
  image_id: text('image_id')
    .notNull()
    .references(() => images.id),
  kernel_id: text('kernel_id')
    .notNull()
    .references(() => images.id),
  vmm: text('vmm').$type<NonNullable<Vm['vmm']>>(),
  accel: text('accel').$type<NonNullable<Vm['accel']>>(),
  host_id: text('host_id').references(() => hosts.id),
  ip: text('ip'),
  mac: text('mac'),
  pid: integer('pid'),
  env: jsonb('env').$type<Record<string, string>>().notNull().default(obj),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default(obj),
  timeout: text('timeout'),
  stop_at: at('stop_at'),
  created_at: created(),
  updated_at: at('updated_at').notNull().defaultNow(),
  started_at: at('started_at'),
  guest: jsonb('guest').$type<Partial<VmGuest>>().notNull().default(obj),
  snapshot_id: text('snapshot_id'),
  ports: jsonb('ports').$type<PortMapping[]>().notNull().default(arr),
  nics: jsonb('nics').$type<Vm['networks']>().notNull().default(arr),
  egress: jsonb('egress').$type<EgressPolicy>(),
  bandwidth_mbit: integer('bandwidth_mbit'),
  pool: text('pool'),
  boot_profile: jsonb('boot_profile').$type<BootProfile>(),
  app: jsonb('app').$type<AppStatus>(),
  last_migration: jsonb('last_migration').$type<LastMigration>(),
  /** Extra DNS names on the VM's networks (a container's network aliases); internal, not in the API. */
  dns_aliases: jsonb('dns_aliases').$type<string[]>().notNull().default(arr),
  /** Placement constraints it was created with (migration 44), kept for any later re-placement. */
  host_selector: jsonb('host_selector').$type<Record<string, string>>().notNull().default(obj),
  anti_affinity_group: text('anti_affinity_group'),
  restart_policy: text('restart_policy').$type<VmRestartPolicy>().notNull().default('no'),
  /** What a drain of its host does with it (migration 50). */
  drain_policy: text('drain_policy').$type<VmDrainPolicy>().notNull().default('migrate'),
});

export const vmEvents = pgTable('vm_events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull().unique(),
  vm_id: text('vm_id').notNull(),
  type: text('type').notNull(),
  from_state: text('from_state').$type<VmState>(),
  to_state: text('to_state').$type<VmState>(),
  actor: text('actor').notNull(),
  reason: text('reason'),
  at: at('at').notNull().defaultNow(),
});

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    key: text('key').notNull(),
    principal: text('principal').notNull(),
    request_hash: text('request_hash').notNull(),
    status: integer('status').notNull(),
    response: jsonb('response').$type<unknown>(),
    created_at: created(),
    claim: text('claim'),
    replica: text('replica'), // the claiming manager process, `replicaId#nonce` (migration 55)
  },
  (t) => [primaryKey({ columns: [t.key, t.principal] })],
);

export const snapshots = pgTable('snapshots', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  vm_id: text('vm_id'),
  vm_name: text('vm_name').notNull(),
  host_id: text('host_id')
    .notNull()
    .references(() => hosts.id),
  parent_id: text('parent_id'),
  state: text('state').$type<Snapshot['state']>().notNull(),
  size_bytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
  vmm: text('vmm').$type<Snapshot['vmm']>().notNull(),
  vmm_version: text('vmm_version').notNull().default(''),
  type: text('type').$type<Snapshot['type']>().notNull().default('full'),
  kernel_id: text('kernel_id').notNull(),
  kernel_sha256: text('kernel_sha256').notNull(),
  image_id: text('image_id').notNull(),
  image_sha256: text('image_sha256').notNull(),
  vcpus: integer('vcpus').notNull(),
  memory_mib: integer('memory_mib').notNull(),
  disk_mib: integer('disk_mib').notNull(),
  env: jsonb('env').$type<Record<string, string>>().notNull().default(obj),
  guest: jsonb('guest').$type<VmGuest>().notNull().default(obj),
  created_at: created(),
  /** Network ids of the VM's NICs when it was taken: a clone needs the same devices. */
  networks: jsonb('networks').$type<string[]>().notNull().default(arr),
  /** Ids of the volumes copied with it (migration 41): a restore needs the same ones attached. */
  volumes: jsonb('volumes').$type<string[]>().notNull().default(arr),
  /** The schedule that took it (migration 41): retention prunes only its own snapshots. */
  schedule_id: text('schedule_id'),
  /** `memory` or `disk` (migration 44): a disk snapshot restores by a cold boot. */
  kind: text('kind').$type<Snapshot['kind']>().notNull().default('memory'),
  /** sha256 of each of its files by name, from its host when it became ready (migration 48). */
  files: jsonb('files').$type<Record<string, string>>(),
  /** A backup restore asks its host to check the files at the next heartbeat (migration 48). */
  verify: boolean('verify').notNull().default(false),
  /** What that check found wrong (files missing, a checksum differing); null: fine. */
  problem: text('problem'),
  /** A diff: the snapshot whose memory it builds on, on the same host (migration 56). */
  base_id: text('base_id'),
});

export const volumes = pgTable('volumes', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  size_mib: integer('size_mib').notNull(),
  format: text('format').$type<Volume['format']>().notNull(),
  host_id: text('host_id')
    .notNull()
    .references(() => hosts.id),
  vm_id: text('vm_id'),
  read_only: boolean('read_only').notNull().default(false),
  attached_at: at('attached_at'),
  image_id: text('image_id'),
  created_at: created(),
});

export const templates = pgTable('templates', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  description: text('description').notNull().default(''),
  spec: jsonb('spec').$type<TemplateSpec>().notNull(),
  created_at: created(),
  updated_at: at('updated_at').notNull().defaultNow(),
});

export const pools = pgTable('pools', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  spec: jsonb('spec').$type<PoolSpec>().notNull(),
  mode: text('mode').$type<Pool['mode']>().notNull(),
  size: integer('size').notNull(),
  hits: integer('hits').notNull().default(0),
  misses: integer('misses').notNull().default(0),
  last_error: text('last_error'),
  /** `snapshot` mode: the snapshot its VMs are restored from (null until taken). */
  snapshot_id: text('snapshot_id'),
  created_at: created(),
  updated_at: at('updated_at').notNull().defaultNow(),
});

export * from './schema-networks.ts';
export * from './schema-containers.ts';
export * from './schema-e2b.ts';
export * from './schema-webhooks.ts';
export * from './schema-functions.ts';
export * from './schema-schedules.ts';
export * from './schema-metrics.ts';
