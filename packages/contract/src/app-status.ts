import { z } from 'zod';
import { Timestamp } from './common.ts';

export const HealthStatus = z.enum(['starting', 'healthy', 'unhealthy']);
export type HealthStatus = z.infer<typeof HealthStatus>;

/**
 * What the guest agent reports about the app it supervises (the VM's `app` field). The
 * container's state is derived from this and from its VM's state.
 */
export const AppStatus = z
  .object({
    state: z.enum(['starting', 'running', 'restarting', 'stopped', 'exited', 'failed']),
    pid: z.number().int().nullable(),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    /** `oom`, `start-failed: …`, `stopped`, `max-retries`; with the last log lines when it failed. */
    reason: z.string().nullable(),
    restarts: z.number().int().describe('Restarts done by the restart policy since the VM booted'),
    health: HealthStatus.nullable(),
    /** Output of the last health probes, newest last. */
    healthLog: z.array(z.object({ at: Timestamp, ok: z.boolean(), output: z.string() })).max(5),
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: 'AppStatus' });
export type AppStatus = z.infer<typeof AppStatus>;
