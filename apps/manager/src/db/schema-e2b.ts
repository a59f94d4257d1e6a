import { boolean, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { at, created } from './columns.ts';

// The E2B-compatible API's table (migration 36), as migrations-later.ts creates it; schema.ts
// re-exports it and lists it for the drift check.

/** An E2B sandbox: one VM, the hash of its envd access token, its metadata and its absolute end. */
export const e2bSandboxes = pgTable('e2b_sandboxes', {
  id: text('id').primaryKey(),
  vm_id: text('vm_id').notNull(),
  project: text('project').notNull(),
  template_id: text('template_id').notNull(),
  token_hash: text('token_hash').notNull(),
  /** The same token sealed (crypto/sealed.ts): connect hands it out again. */
  token_sealed: text('token_sealed').notNull(),
  metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
  auto_pause: boolean('auto_pause').notNull().default(false),
  /** Its ports answer without the traffic access token (migration 37). */
  public_traffic: boolean('public_traffic').notNull().default(true),
  /** Paused: the snapshot holding its memory and disk while its VM is stopped (migration 42). */
  paused_snapshot: text('paused_snapshot'),
  started_at: at('started_at').notNull().defaultNow(),
  end_at: at('end_at').notNull(),
  created_by: text('created_by').notNull(),
  created_at: created(),
});
