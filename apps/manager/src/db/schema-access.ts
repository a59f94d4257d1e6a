import { integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { at, created } from './columns.ts';

// Proxy passes (migration 54), as migrations-access.ts creates them.

/** A capability for the HTTP proxy to one port of one VM, stored hashed with whoever asked. */
export const proxyPasses = pgTable('proxy_passes', {
  hash: text('hash').primaryKey(),
  vm_id: text('vm_id').notNull(),
  port: integer('port').notNull(),
  project: text('project').notNull(),
  principal: jsonb('principal').$type<Record<string, unknown>>().notNull(),
  created_at: created(),
  expires_at: at('expires_at').notNull(),
});
