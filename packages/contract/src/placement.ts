import { z } from 'zod';

/**
 * Placement vocabulary shared by hosts and VMs: host labels, the selector a VM matches them with,
 * the strategy that orders the hosts that fit, and overcommit ratios.
 */

/** `zone`, `disk`, `example.com/rack`: lower case, digits, `.`, `-`, `_`, `/`; 63 at most. */
export const LabelKey = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/,
    'a label key: lower-case letters, digits, ".", "-", "_" and "/", at most 63, starting and ending alphanumeric',
  );
/** `ssd`, `eu-west-1`, `` (empty is a value too): letters, digits, `.`, `-`, `_`; 63 at most. */
export const LabelValue = z
  .string()
  .regex(/^[A-Za-z0-9._-]{0,63}$/, 'a label value: letters, digits, ".", "-" and "_", at most 63');

export const HostLabels = z.record(LabelKey, LabelValue).describe('Host labels, key → value');
export type HostLabels = z.infer<typeof HostLabels>;

/** Every key must be on the host with the same value. */
export const HostSelector = z
  .record(LabelKey, LabelValue)
  .refine((s) => Object.keys(s).length <= 16, 'at most 16 labels')
  .describe('Only hosts carrying every one of these labels with the same value');
export type HostSelector = z.infer<typeof HostSelector>;

export const PlacementStrategy = z
  .enum(['spread', 'pack'])
  .describe(
    '`spread`: the host with the least committed (even load, a host lost takes few VMs); `pack`: the fullest host that still fits (whole hosts stay free)',
  );
export type PlacementStrategy = z.infer<typeof PlacementStrategy>;

/** How much of a host's CPUs or memory VMs may be promised, as a multiple of what it has. */
export const Overcommit = z.number().min(0.1).max(64);

export const AntiAffinityGroup = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and "-", at most 63')
  .describe('No two VMs of this group (in the project) on one host');

export const PatchHostBody = z
  .strictObject({
    labels: z
      .record(LabelKey, LabelValue.nullable())
      .optional()
      .describe('Labels set (a value) or removed (null); keys not named stay as they are'),
    cpuOvercommit: Overcommit.nullable()
      .optional()
      .describe("vCPUs that may be promised per host CPU; null: the manager's default"),
    memoryOvercommit: Overcommit.nullable()
      .optional()
      .describe("Memory that may be promised per MiB the host has; null: the manager's default"),
  })
  .meta({ id: 'PatchHost' });
export type PatchHostBody = z.infer<typeof PatchHostBody>;

/** `k=v` (a label or selector entry on the command line or in the agent's configuration). */
export function parseLabel(kv: string): [string, string] {
  const i = kv.indexOf('=');
  if (i < 1) throw new Error(`"${kv}" must look like key=value`);
  return [kv.slice(0, i), kv.slice(i + 1)];
}
