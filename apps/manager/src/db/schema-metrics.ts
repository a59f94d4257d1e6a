import { pgTable, primaryKey, real, smallint, text } from 'drizzle-orm/pg-core';
import { at } from './columns.ts';

// The charts' history (migration 39; services/metrics/history.ts queries it with plain SQL);
// schema.ts lists it for the drift check.

/** One sample (tier 0, every 10 s) or one-minute average (tier 1) of a VM or a host. */
export const metricSamples = pgTable(
  'metric_samples',
  {
    kind: text('kind').notNull(),
    subject: text('subject').notNull(),
    tier: smallint('tier').notNull(),
    at: at('at').notNull(),
    /** The kind's series in a fixed order (history.ts VM_SERIES, HOST_SERIES). */
    v: real('v').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.subject, t.tier, t.at] })],
);
