import type { FunctionConfig } from '@hearth/contract';
import { bigserial, boolean, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at, created } from './columns.ts';

// The function tables (migration 37), as migrations-later.ts creates them; schema.ts lists them for
// the drift check. The config holds the runtime and handler of the newest deploy too.

export type FunctionRowConfig = FunctionConfig & { runtime: string; handler: string };

export const functions = pgTable('functions', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  config: jsonb('config').$type<FunctionRowConfig>().notNull(),
  created_at: created(),
  updated_at: at('updated_at').notNull().defaultNow(),
});

export const functionVersions = pgTable(
  'function_versions',
  {
    function_id: text('function_id').notNull(),
    version: integer('version').notNull(),
    runtime: text('runtime').notNull(),
    handler: text('handler').notNull(),
    files: jsonb('files').$type<Record<string, string>>().notNull(),
    config: jsonb('config').$type<FunctionConfig>().notNull(),
    state: text('state').$type<'building' | 'ready' | 'failed'>().notNull(),
    snapshot_id: text('snapshot_id'),
    error: text('error'),
    build_ms: integer('build_ms'),
    created_at: created(),
  },
  (t) => [primaryKey({ columns: [t.function_id, t.version] })],
);

export const functionAliases = pgTable(
  'function_aliases',
  {
    function_id: text('function_id').notNull(),
    alias: text('alias').notNull(),
    version: integer('version').notNull(),
  },
  (t) => [primaryKey({ columns: [t.function_id, t.alias] })],
);

export const functionLogs = pgTable('function_logs', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  function_id: text('function_id').notNull(),
  request_id: text('request_id').notNull(),
  version: integer('version').notNull(),
  status: text('status').notNull(),
  duration_ms: integer('duration_ms').notNull(),
  cold: boolean('cold').notNull(),
  logs: text('logs').notNull(),
  at: at('at').notNull().defaultNow(),
});
