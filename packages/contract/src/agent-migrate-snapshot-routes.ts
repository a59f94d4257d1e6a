import { z } from 'zod';
import { AgentVmSpec, AgentVmStatus } from './agent.ts';
import { AgentVmParams } from './agent-access-routes.ts';
import type { AgentRouteDef } from './agent-routes.ts';
import { AgentFinishResult } from './agent-migrate-routes.ts';

const def = <const T extends AgentRouteDef>(r: T): T => r;

/** A file of a migration snapshot, by its name in the snapshot directory. */
const FileParams = AgentVmParams.extend({ file: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/) });
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const AgentSnapshotFile = z.object({
  name: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  encodedBytes: z.number().int().nonnegative(),
  sha256: Sha256,
});
export const AgentSnapshotSendResult = z.object({
  pausedAt: z.number().describe('Epoch ms the source paused the guest'),
  files: z.array(AgentSnapshotFile),
});
export type AgentSnapshotSendResult = z.infer<typeof AgentSnapshotSendResult>;

/**
 * Moving a running Firecracker VM (docs/migration.md § Firecracker): not live. The source pauses
 * it and writes a full snapshot, the files go to the destination, which loads it and resumes.
 */
export const agentMigrateSnapshotRoutes = {
  migrateSnapshotSend: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/snapshot',
    summary:
      'Source: the VM paused and a full snapshot (state, memory, disk) written for a move; answers the files with their sha256. The VM stays paused.',
    params: AgentVmParams,
    response: AgentSnapshotSendResult,
  }),
  migrateSnapshotFile: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/migrate/snapshot/files/:file',
    summary:
      'Source: one file of the migration snapshot in the sparse encoding, ended with an error if it no longer hashes to `sha256`.',
    params: FileParams,
    query: z.strictObject({ sha256: Sha256, encodedBytes: z.coerce.number().int().nonnegative() }),
    response: null,
    raw: { produces: ['application/octet-stream'] },
  }),
  migrateSnapshotCancel: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/snapshot/cancel',
    summary: 'Source: a move given up: the migration snapshot removed, the guest resumed here.',
    params: AgentVmParams,
    response: AgentVmStatus,
  }),
  migrateSnapshotDrop: def({
    method: 'DELETE',
    path: '/agent/v1/vms/:id/migrate/snapshot',
    summary: 'Source: the migration snapshot removed (the VM runs on the destination).',
    params: AgentVmParams,
    response: z.object({ ok: z.boolean() }),
  }),
  migrateSnapshotReceive: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/migrate/snapshot/incoming/:file',
    summary:
      'Destination: one file of an arriving migration snapshot (sparse encoding, raw body), refused unless it hashes to `sha256`.',
    params: FileParams,
    query: z.strictObject({ sizeBytes: z.coerce.number().int().nonnegative(), sha256: Sha256 }),
    response: z.object({ sha256: z.string(), encodedBytes: z.number() }),
    raw: { consumes: ['application/octet-stream'] },
  }),
  migrateSnapshotRestore: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/migrate/snapshot/restore',
    summary:
      'Destination: a fresh Firecracker loads the received snapshot and resumes the guest (same TAP, MAC and address); a failure removes everything made for it.',
    params: AgentVmParams,
    body: z.strictObject({ spec: AgentVmSpec }),
    response: AgentFinishResult,
  }),
  migrateSnapshotAbort: def({
    method: 'DELETE',
    path: '/agent/v1/vms/:id/migrate/snapshot/incoming',
    summary: 'Destination: the received files, and a VM restored from them, removed.',
    params: AgentVmParams,
    response: z.object({ ok: z.boolean() }),
  }),
} as const;
