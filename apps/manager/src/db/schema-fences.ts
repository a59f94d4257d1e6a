import { pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { created } from './columns.ts';

// Host failure handling (migration 45), as migrations-cluster.ts creates it.

/** VMs a host declared dead must destroy if its agent comes back (they run elsewhere or are lost). */
export const hostFences = pgTable(
  'host_fences',
  {
    host_id: text('host_id').notNull(),
    vm_id: text('vm_id').notNull(),
    reason: text('reason').notNull(),
    created_at: created(),
  },
  (t) => [primaryKey({ columns: [t.host_id, t.vm_id] })],
);
