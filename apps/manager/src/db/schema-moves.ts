import { pgTable, text } from 'drizzle-orm/pg-core';
import { at } from './columns.ts';

// Moves in flight (migration 50), as migrations-moves.ts creates them; listed for the drift check.

/** A VM being moved between hosts, by which replica, and how far it got (store/moves.ts). */
export const vmMoves = pgTable('vm_moves', {
  vm_id: text('vm_id').primaryKey(),
  from_host: text('from_host').notNull(),
  to_host: text('to_host').notNull(),
  mode: text('mode').$type<'live' | 'cold' | 'snapshot'>().notNull(),
  phase: text('phase').$type<MovePhase>().notNull(),
  replica: text('replica').notNull(),
  started_at: at('started_at').notNull().defaultNow(),
});

/**
 * `preparing`: the destination may hold a waiting copy; `handed-over`: the source sent everything
 * (paused), the destination not yet told to continue; `recorded`: the record names the
 * destination, the source copy is still to go.
 */
export type MovePhase = 'preparing' | 'handed-over' | 'recorded';
