import { z } from 'zod';

// The guest agent's reports about itself: `metrics`, `info` and `process.list` results.

export const GuestMetrics = z.object({
  cpuPercent: z.number(),
  memory: z.object({ totalBytes: z.number(), availableBytes: z.number(), usedBytes: z.number() }),
  load: z.array(z.number()).length(3),
  processes: z.number().int(),
  uptimeSec: z.number(),
  disk: z.object({
    path: z.string(),
    totalBytes: z.number(),
    usedBytes: z.number(),
    /** Since boot, over the whole disks (absent from older guest agents). */
    readBytes: z.number().optional(),
    writeBytes: z.number().optional(),
  }),
  network: z.array(z.object({ name: z.string(), rxBytes: z.number(), txBytes: z.number() })),
  agentRssBytes: z.number(),
});
export type GuestMetrics = z.infer<typeof GuestMetrics>;

export const GuestInfo = z.object({
  hostname: z.string(),
  ips: z.array(
    z.object({
      iface: z.string(),
      /** The interface's MAC (lower-case, colon separated), by which the host finds a DHCP NIC's
       * address. Absent for interfaces without one and from agents older than multi-NIC support. */
      mac: z.string().optional(),
      address: z.string(),
      prefix: z.number().int(),
    }),
  ),
  agentVersion: z.string(),
  kernel: z.string(),
  timeMs: z.number(),
});
export type GuestInfo = z.infer<typeof GuestInfo>;

export const GuestProcess = z.object({
  processId: z.string(),
  pid: z.number().int(),
  argv: z.array(z.string()),
  tag: z.string().nullable(),
  pty: z.boolean(),
  startedAt: z.string(),
  running: z.boolean(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});
export type GuestProcess = z.infer<typeof GuestProcess>;
