import type { z } from 'zod';
import type { CreateContainerBody } from '@hearth/contract';
import { bigserial, boolean, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at, created } from './columns.ts';

// The container tables (migrations 31–33), as migrations-later.ts creates them; schema.ts
// re-exports them and lists them for the drift check.

/** A container's create request as stored (defaults applied), less what has columns of its own. */
export type ContainerSpec = Omit<z.output<typeof CreateContainerBody>, 'name' | 'project' | 'image' | 'pull'>;

/** What a container is outside its VM's life; `vm`: its state comes from the VM (see store/containers.ts). */
export type ContainerPhase = 'creating' | 'pulling' | 'failed' | 'removing' | 'vm';

export const containers = pgTable('containers', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  image: text('image').notNull(),
  spec: jsonb('spec').$type<ContainerSpec>().notNull(),
  phase: text('phase').$type<ContainerPhase>().notNull(),
  phase_reason: text('phase_reason'),
  pull: jsonb('pull').$type<{ percent: number | null; message: string }>(),
  image_id: text('image_id'),
  image_digest: text('image_digest'),
  vm_id: text('vm_id'),
  user_stopped: boolean('user_stopped').notNull().default(false),
  restarts: integer('restarts').notNull().default(0),
  /** The container's state and health last recorded as events (so each change is recorded once). */
  seen: jsonb('seen').$type<{ state: string; health: string | null; restarts: number }>(),
  created_at: created(),
});

export const containerEvents = pgTable('container_events', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  container_id: text('container_id').notNull(),
  type: text('type').notNull(),
  message: text('message').notNull(),
  at: at('at').notNull().defaultNow(),
});

export const secrets = pgTable('secrets', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  project: text('project').notNull(),
  /** Sealed (crypto/sealed.ts); never returned. */
  value: text('value').notNull(),
  created_at: created(),
  updated_at: at('updated_at').notNull().defaultNow(),
});
/** Private registry credentials of a project; the password only sealed (crypto/sealed.ts). */
export const registryCredentials = pgTable(
  'registry_credentials',
  {
    project: text('project').notNull(),
    registry: text('registry').notNull(),
    username: text('username').notNull(),
    password_sealed: text('password_sealed').notNull(),
    created_at: created(),
    updated_at: at('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.project, t.registry] })],
);
