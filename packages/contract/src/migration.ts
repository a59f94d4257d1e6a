import { z } from 'zod';
import { Timestamp } from './common.ts';

/**
 * How a VM moved: `live` (QEMU: disk mirrored, memory pre-copied, the guest paused only for the
 * last pass), `snapshot` (running Firecracker: not live; paused, snapshotted, the files copied,
 * loaded and resumed on the destination, the guest standing still throughout), `cold` (stopped:
 * its disk copied, the record moved). docs/migration.md.
 */
export const MigrationMode = z.enum(['live', 'snapshot', 'cold']);
export type MigrationMode = z.infer<typeof MigrationMode>;

export const LastMigration = z
  .object({
    from: z.string().describe('Host id it left'),
    to: z.string().describe('Host id it moved to'),
    mode: MigrationMode,
    downtimeMs: z
      .number()
      .nullable()
      .describe(
        'Live and snapshot: the guest stood still from the source pausing it to the destination continuing it; for snapshot this includes the copy (null for cold)',
      ),
    qemuDowntimeMs: z
      .number()
      .nullable()
      .describe("QEMU's own downtime figure (source side, `query-migrate`)"),
    totalMs: z.number().describe('From the request to the VM running (or recorded) on the destination'),
    at: Timestamp,
  })
  .meta({ id: 'LastMigration' });
export type LastMigration = z.infer<typeof LastMigration>;

export const MigrateVmBody = z.strictObject({
  toHost: z.string().min(1).optional().describe('Destination host id or name; default: placement picks one'),
});

/** One VM of a drain: where it went or why it did not. */
export const DrainItem = z.object({
  vm: z.string(),
  name: z.string(),
  mode: MigrationMode.nullable(),
  status: z
    .enum(['pending', 'moving', 'done', 'failed', 'skipped'])
    .describe('`skipped`: its drain policy is `stay`, it was left on the host'),
  to: z.string().nullable(),
  reason: z
    .string()
    .nullable()
    .describe(
      'Why it failed or was skipped; for one that moved another way than live, how (stopped, moved cold)',
    ),
});
export const HostDrain = z
  .object({
    status: z.enum(['draining', 'done', 'failed']),
    startedAt: Timestamp,
    finishedAt: Timestamp.nullable(),
    vms: z.array(DrainItem),
  })
  .meta({ id: 'HostDrain' });
export type HostDrain = z.infer<typeof HostDrain>;
