import { z } from 'zod';
import type { AgentRouteDef } from './agent-routes.ts';
import { AgentSnapshotFile } from './agent-migrate-snapshot-routes.ts';

const def = <const T extends AgentRouteDef>(r: T): T => r;

const SnapshotParams = z.object({ snapshotId: z.string().regex(/^[A-Za-z0-9_-]+$/) });
/** A file of a stored snapshot, by its name in the snapshot's directory. */
const FileParams = SnapshotParams.extend({ file: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/) });
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Ok = z.object({ ok: z.boolean() });

const AgentSnapshotFiles = z.object({ files: z.array(AgentSnapshotFile) });

/**
 * A stored snapshot's files copied to another host under the same id (docs/migration.md § Stopped
 * VMs and their snapshots): the manager reads each file from the host holding it and writes it
 * into the destination's arrival area, which becomes the snapshot only once every file is there.
 */
export const agentSnapshotMoveRoutes = {
  snapshotFiles: def({
    method: 'GET',
    path: '/agent/v1/snapshots/:snapshotId/files',
    summary:
      'Every file of a snapshot stored on this host, with its size, sparse-encoded size and sha256 (read once).',
    params: SnapshotParams,
    response: AgentSnapshotFiles,
  }),
  snapshotFileSend: def({
    method: 'GET',
    path: '/agent/v1/snapshots/:snapshotId/files/:file',
    summary:
      'One file of a stored snapshot in the sparse encoding, ended with an error if it no longer hashes to `sha256`.',
    params: FileParams,
    query: z.strictObject({ sha256: Sha256, encodedBytes: z.coerce.number().int().nonnegative() }),
    response: null,
    raw: { produces: ['application/octet-stream'] },
  }),
  snapshotReceive: def({
    method: 'PUT',
    path: '/agent/v1/snapshots/:snapshotId/incoming/:file',
    summary:
      'One file of a snapshot arriving from another host (sparse encoding, raw body), refused unless it hashes to `sha256` or if this host has that snapshot already.',
    params: FileParams,
    query: z.strictObject({ sizeBytes: z.coerce.number().int().nonnegative(), sha256: Sha256 }),
    response: z.object({ sha256: z.string(), encodedBytes: z.number() }),
    raw: { consumes: ['application/octet-stream'] },
  }),
  snapshotReceiveCommit: def({
    method: 'POST',
    path: '/agent/v1/snapshots/:snapshotId/incoming/commit',
    summary:
      'The arrived files become the snapshot, once every one named is there; from then on it restores on this host.',
    params: SnapshotParams,
    body: z.strictObject({ files: z.array(z.string()).min(1) }),
    response: Ok,
  }),
  snapshotReceiveAbort: def({
    method: 'DELETE',
    path: '/agent/v1/snapshots/:snapshotId/incoming',
    summary: 'The files of a snapshot arrival given up, removed (the snapshot itself, if committed, is not).',
    params: SnapshotParams,
    response: Ok,
  }),
} as const;
