import { bigserial, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import type { WebhookEventType } from '@hearth/contract';
import { at, created } from './columns.ts';

// The webhook tables (migration 40), as migrations-later.ts creates them; schema.ts re-exports
// them and lists them for the drift check.

export const webhooks = pgTable('webhooks', {
  id: text('id').primaryKey(),
  project: text('project').notNull(),
  url: text('url').notNull(),
  events: jsonb('events').$type<WebhookEventType[]>().notNull(),
  /** The HMAC key, sealed (crypto/sealed.ts). */
  secret_sealed: text('secret_sealed').notNull(),
  created_by: text('created_by').notNull(),
  created_at: created(),
});

export const webhookDeliveries = pgTable('webhook_deliveries', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: text('id').notNull().unique(),
  webhook_id: text('webhook_id')
    .notNull()
    .references(() => webhooks.id, { onDelete: 'cascade' }),
  event_id: text('event_id').notNull(),
  event: text('event').$type<WebhookEventType>().notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  status: text('status').$type<'pending' | 'succeeded' | 'failed'>().notNull(),
  attempts: integer('attempts').notNull().default(0),
  response_code: integer('response_code'),
  last_error: text('last_error'),
  next_attempt_at: at('next_attempt_at'),
  created_at: created(),
  updated_at: at('updated_at').notNull().defaultNow(),
});
