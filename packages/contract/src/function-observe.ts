import { z } from 'zod';
import { Timestamp } from './common.ts';

// What a function's invocations leave behind: the per-invocation log (searchable, followable)
// and the figures computed from it.

export const FunctionLog = z
  .object({
    seq: z.number(),
    requestId: z.string(),
    version: z.number().int(),
    status: z
      .string()
      .describe(
        '`ok`, `error` (the handler failed), `timeout`, `pending` (asynchronous, running), `failed` (the platform could not run it) or `throttled` (refused with 429).',
      ),
    durationMs: z.number(),
    cold: z.boolean(),
    logs: z.string(),
    at: Timestamp,
  })
  .meta({ id: 'FunctionLog' });
export type FunctionLog = z.infer<typeof FunctionLog>;

export const FunctionLogsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  requestId: z.string().optional(),
  q: z
    .string()
    .max(200)
    .optional()
    .describe('Only invocations whose output contains this text (case-insensitive).'),
  follow: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe(
      'Answer with NDJSON FunctionLog lines instead: the last `limit` invocations oldest first, then each new one as it ends, until the client leaves.',
    ),
  project: z.string().optional(),
});
export type FunctionLogsQuery = z.infer<typeof FunctionLogsQuery>;

export const METRICS_RANGES = { '1h': 3600, '24h': 86_400, '7d': 604_800 } as const;
/** The width of one chart bucket per range: 60, 48 and 168 points. */
export const METRICS_BUCKETS = { '1h': 60, '24h': 1800, '7d': 3600 } as const;

export const FunctionMetricsQuery = z.strictObject({
  range: z.enum(['1h', '24h', '7d']).default('24h'),
  project: z.string().optional(),
});

const Percentiles = z.object({
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
});

export const FunctionMetricsPoint = z
  .object({
    t: Timestamp.describe("The bucket's start."),
    invocations: z.number().int(),
    errors: z.number().int(),
    throttles: z.number().int(),
    coldStarts: z.number().int(),
    durationMs: Percentiles,
  })
  .meta({ id: 'FunctionMetricsPoint' });
export type FunctionMetricsPoint = z.infer<typeof FunctionMetricsPoint>;

export const FunctionMetrics = z
  .object({
    range: z.enum(['1h', '24h', '7d']),
    invocations: z.number().int(),
    errors: z.number().int().describe('The handler threw or answered an error.'),
    timeouts: z.number().int(),
    coldStarts: z.number().int(),
    throttles: z.number().int().describe('Invocations refused with 429 (kept in the invocation log).'),
    durationMs: Percentiles.describe("The handler's own time; null without invocations in the range."),
    concurrent: z.number().int().describe('Invocations running now.'),
    instances: z.number().int().describe('Instances ready now.'),
    bucketS: z.number().int().describe('The width of one point of `series`, in seconds.'),
    series: z
      .array(FunctionMetricsPoint)
      .describe(
        'The same figures per bucket over the range, oldest first; buckets without invocations are left out.',
      ),
  })
  .meta({ id: 'FunctionMetrics' });
export type FunctionMetrics = z.infer<typeof FunctionMetrics>;
