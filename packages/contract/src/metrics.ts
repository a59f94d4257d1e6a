import { z } from 'zod';
import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';

/** How far back a history reads: the last hour at 10 s, or 6 h and 24 h at one point a minute. */
export const HISTORY_RANGES = ['1h', '6h', '24h'] as const;
export const HistoryRange = z.enum(HISTORY_RANGES);
export type HistoryRange = z.infer<typeof HistoryRange>;

export const HistoryQuery = z.object({ range: HistoryRange.default('1h') });

/**
 * One sample of a running VM as its host's agent saw it through the guest agent (the same numbers
 * as GET /v1/vms/{id}/metrics), sent with the heartbeat. Network is a rate over the sampler's
 * interval (null for a VM's first sample, or after its counters went back: a reboot).
 */
export const VmSample = z.object({
  id: z.string(),
  at: z.string(),
  cpuPercent: z.number(),
  memUsedBytes: z.number(),
  memTotalBytes: z.number(),
  diskUsedBytes: z.number(),
  diskTotalBytes: z.number(),
  rxBytesPerSec: z.number().nullable(),
  txBytesPerSec: z.number().nullable(),
});
export type VmSample = z.infer<typeof VmSample>;

export const VmHistoryPoint = VmSample.omit({ id: true });
export type VmHistoryPoint = z.infer<typeof VmHistoryPoint>;

export const HostHistoryPoint = z.object({
  at: z.string(),
  memUsedBytes: z.number(),
  memTotalBytes: z.number(),
  diskFreeBytes: z.number(),
  vmCount: z.number(),
  allocatedVcpus: z.number(),
  allocatedMemoryBytes: z.number(),
  cpuPercent: z.number().nullable().describe('Busy share of all CPUs, 0–100; null before hosts reported it'),
});
export type HostHistoryPoint = z.infer<typeof HostHistoryPoint>;

const history = <T extends z.ZodType>(point: T, id: string) =>
  z
    .object({
      range: HistoryRange,
      stepSeconds: z.number().describe('Spacing of the points: 10 for 1h, 60 for 6h and 24h'),
      points: z.array(point).describe('Oldest first; a gap where no sample was taken'),
    })
    .meta({ id });
export const VmMetricsHistory = history(VmHistoryPoint, 'VmMetricsHistory');
export type VmMetricsHistory = z.infer<typeof VmMetricsHistory>;
export const HostMetricsHistory = history(HostHistoryPoint, 'HostMetricsHistory');
export type HostMetricsHistory = z.infer<typeof HostMetricsHistory>;

const def = <const T extends RouteDef>(r: T): T => r;
const NONE: ErrorCode[] = [];

/** Prometheus exposition and the samples kept for the dashboard's charts (docs/metrics.md). */
export const metricsRoutes = {
  prometheusMetrics: def({
    method: 'GET',
    path: '/metrics',
    summary:
      'Prometheus metrics (text exposition format 0.0.4): a platform admin, the scrape token (HEARTH_METRICS_TOKEN), or anyone when HEARTH_METRICS_PUBLIC=1.',
    tag: 'metrics',
    auth: 'user',
    response: null,
    raw: { produces: ['text/plain'] },
    status: 200,
    errors: NONE,
  }),
  vmMetricsHistory: def({
    method: 'GET',
    path: '/v1/vms/:id/metrics/history',
    summary:
      "A VM's kept samples: the last hour at 10 s, or the last 6 h or 24 h at one point a minute (averages).",
    tag: 'vm access',
    auth: 'user',
    params: IdParam,
    query: HistoryQuery,
    response: VmMetricsHistory,
    status: 200,
    errors: ['VM_NOT_FOUND'],
  }),
  hostMetricsHistory: def({
    method: 'GET',
    path: '/v1/hosts/:id/metrics/history',
    summary: "A host's kept samples (memory, disk, allocation), at the same steps as a VM's.",
    tag: 'hosts',
    auth: 'user',
    params: IdParam,
    query: HistoryQuery,
    response: HostMetricsHistory,
    status: 200,
    errors: ['HOST_NOT_FOUND'],
  }),
};
