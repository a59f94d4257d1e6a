import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { at } from './columns.ts';

// Replicated managers (migration 46), as migrations-replicas.ts creates them; listed for the drift
// check. Queried with plain SQL (services/replicas/leader.ts).

/** A named lease ('leader'): who holds it and until when (the database's clock). */
export const managerLeases = pgTable('manager_leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  epoch: bigint('epoch', { mode: 'number' }).notNull().default(1),
  acquired_at: at('acquired_at').notNull().defaultNow(),
  expires_at: at('expires_at').notNull(),
});

/** A VM operation in flight and the replica running it (services/replicas/shared-ops.ts). */
export const managerOperations = pgTable('manager_operations', {
  vm_id: text('vm_id').primaryKey(),
  replica: text('replica').notNull(),
  started_at: at('started_at').notNull().defaultNow(),
});

/** Each running manager replica, renewed with its lease rounds. */
export const managerReplicas = pgTable('manager_replicas', {
  id: text('id').primaryKey(),
  url: text('url').notNull().default(''),
  started_at: at('started_at').notNull().defaultNow(),
  seen_at: at('seen_at').notNull().defaultNow(),
});
