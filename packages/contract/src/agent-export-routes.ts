import { z } from 'zod';
import { AgentVmParams } from './agent-access-routes.ts';
import type { AgentRouteDef } from './agent-routes.ts';

const def = <const T extends AgentRouteDef>(r: T): T => r;

/**
 * What is read: the VM's own disk or one of its volumes (it must not run), or a file of one of its
 * snapshots.
 */
export const AgentExportQuery = z.strictObject({
  file: z.enum(['disk', 'memory', 'volume']),
  snapshot: z.string().min(1).optional().describe('Read from this snapshot of the VM, not its run directory'),
  volume: z.string().min(1).optional().describe('With `file: volume`: the volume attached to the VM'),
});
export const AgentExportInfo = z.object({
  sizeBytes: z.number().int().nonnegative(),
  encodedBytes: z.number().int().nonnegative(),
  sha256: z.string(),
  /** The disk carries the guest agent (noted when it was made). */
  hasAgent: z.boolean(),
  /** For a snapshot's memory: the device set it loads into (null: it holds volumes, or is too old). */
  restore: z
    .object({
      layout: z.number().int(),
      hasAgent: z.boolean(),
      nics: z.array(z.object({ mac: z.string(), network: z.string() })),
    })
    .nullable()
    .optional(),
});
export type AgentExportInfo = z.infer<typeof AgentExportInfo>;

/** An imported VM's saved memory: what it was saved by and with (VmArchiveRestore). */
export const AgentImportSnapshotBody = z.strictObject({
  vmm: z.enum(['qemu', 'firecracker']),
  vmmVersion: z.string(),
  layout: z.number().int(),
  hasAgent: z.boolean(),
  /** The exported VM's id and its NICs' MACs in device order: the guest's identity is moved off them. */
  sourceId: z.string(),
  sourceMacs: z.array(z.string()),
});
export type AgentImportSnapshotBody = z.infer<typeof AgentImportSnapshotBody>;

/** What the backup asks a host to checksum (docs/backups.md § Checksums). */
export const AgentChecksumsBody = z.strictObject({
  volumes: z.array(z.string().min(1)).max(10_000),
  snapshots: z.array(z.string().min(1)).max(10_000),
});
/** `sha256`/`files` null: not computed, `reason` says why (missing, attached to a running VM). */
export const AgentChecksums = z.object({
  volumes: z.array(
    z.object({ id: z.string(), sha256: z.string().nullable(), reason: z.string().nullable() }),
  ),
  snapshots: z.array(
    z.object({
      id: z.string(),
      files: z.record(z.string(), z.string()).nullable(),
      reason: z.string().nullable(),
      missing: z.boolean(),
    }),
  ),
});
export type AgentChecksums = z.infer<typeof AgentChecksums>;

/** VM export and import (docs/backups.md § VM export): files in the `hearth-sparse-1` encoding. */
export const agentExportRoutes = {
  checksums: def({
    method: 'POST',
    path: '/agent/v1/checksums',
    summary:
      "sha256 of volume files (not those attached to a running VM) and of snapshots' files on this host; a missing file is said so, never an error.",
    body: AgentChecksumsBody,
    response: AgentChecksums,
  }),
  exportInfo: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/export/info',
    summary:
      "Size, encoded size and sha256 of a VM's disk (or a snapshot's disk or memory) in the sparse encoding, read once.",
    params: AgentVmParams,
    query: AgentExportQuery,
    response: AgentExportInfo,
  }),
  exportFile: def({
    method: 'GET',
    path: '/agent/v1/vms/:id/export',
    summary:
      'The file in the sparse encoding (octet-stream), ended with an error instead if it no longer hashes to `sha256` (it changed since `exportInfo`).',
    params: AgentVmParams,
    query: AgentExportQuery.extend({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      encodedBytes: z.coerce.number().int().nonnegative(),
    }),
    response: null,
    raw: { produces: ['application/octet-stream'] },
  }),
  importDisk: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/disk',
    summary:
      "The root disk of a VM this host does not know yet, from the sparse encoding (raw body); the VM's first start boots it as it is. Answers the sha256 of the bytes received; any failure leaves nothing.",
    params: AgentVmParams,
    query: z.strictObject({
      sizeBytes: z.coerce.number().int().positive(),
      hasAgent: z.enum(['true', 'false']),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .describe('What the encoded bytes must hash to'),
    }),
    response: z.object({ sha256: z.string(), encodedBytes: z.number() }),
    raw: { consumes: ['application/octet-stream'] },
  }),
  importVolume: def({
    method: 'PUT',
    path: '/agent/v1/volumes/:id/file',
    summary:
      "A volume's file moved here with its VM (a cold move), from the sparse encoding (raw body): written beside, checked against `sha256`, then put in place (replacing a leftover copy). Any failure leaves nothing.",
    params: z.object({ id: z.string().min(1) }),
    query: z.strictObject({
      sizeBytes: z.coerce.number().int().positive(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
    response: z.object({ sha256: z.string(), encodedBytes: z.number() }),
    raw: { consumes: ['application/octet-stream'] },
  }),
  prepareImportSnapshot: def({
    method: 'POST',
    path: '/agent/v1/vms/:id/import-snapshot',
    summary:
      "Readies the snapshot an imported VM with saved memory resumes from (after `importDisk`): refuses, before any byte, memory this host's VMM cannot load (VMM version, device layout); answers the snapshot's id.",
    params: AgentVmParams,
    body: AgentImportSnapshotBody,
    response: z.object({ snapshotId: z.string() }),
  }),
  importMemory: def({
    method: 'PUT',
    path: '/agent/v1/vms/:id/memory',
    summary:
      'The saved memory of an imported VM (sparse encoding, raw body) into the snapshot `prepareImportSnapshot` made, with the disk `importDisk` wrote; checked against `sha256`. Any failure removes that snapshot.',
    params: AgentVmParams,
    query: z.strictObject({
      sizeBytes: z.coerce.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
    response: z.object({ sha256: z.string(), encodedBytes: z.number() }),
    raw: { consumes: ['application/octet-stream'] },
  }),
} as const;
