import { timestamp } from 'drizzle-orm/pg-core';

/** Column helpers shared by the schema files. */
export const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const created = () => at('created_at').notNull().defaultNow();
