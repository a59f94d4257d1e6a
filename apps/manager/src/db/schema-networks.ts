import type { Network } from '@hearth/contract';
import { sql } from 'drizzle-orm';
import { boolean, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { created } from './columns.ts';

// Networks and the VMs' NICs on them.

const arr = sql`'[]'::jsonb`;

export const networks = pgTable('networks', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  mode: text('mode').$type<Network['mode']>().notNull(),
  cidr: text('cidr'),
  gateway: text('gateway'),
  dns: jsonb('dns').$type<string[]>().notNull().default(arr),
  iface: text('iface'),
  vlan: integer('vlan'),
  vni: integer('vni'),
  port: integer('port'),
  bridge: text('bridge').notNull().unique(),
  is_default: boolean('is_default').notNull().default(false),
  created_at: created(),
  /** Guests may reach 169.254.0.0/16 (cloud instance metadata) through the host. */
  allow_metadata: boolean('allow_metadata').notNull().default(false),
  /** NULL: shared by every project (the default NAT network); otherwise the owning project. */
  project: text('project'),
});

export const vmNics = pgTable(
  'vm_nics',
  {
    vm_id: text('vm_id').notNull(),
    idx: integer('idx').notNull(),
    network_id: text('network_id')
      .notNull()
      .references(() => networks.id),
    mac: text('mac').notNull().unique(),
    ip: text('ip'),
    source: text('source').$type<'ipam' | 'dhcp'>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.vm_id, t.idx] })],
);
