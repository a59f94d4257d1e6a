import { HearthError, type InvokeResult } from '@hearth/contract';
import type { BuildDeps } from './build.ts';
import { ShimTimeout } from './shim-client.ts';
import type { FunctionPool } from './instances.ts';
import type { FunctionRow, VersionRow } from './store.ts';

/** What the shim answers for one invocation. */
interface ShimAnswer {
  ok: boolean;
  result?: unknown;
  error?: { type: string; message: string; stack: string[] };
  ms: number;
  logs: string;
}

/** The log tail an answer carries (the whole log is kept per invocation, up to the shim's cap). */
const TAIL = 4096;

/**
 * One invocation on an instance of the pool: the event goes to the shim over the instance's
 * stream (the guest agent's TCP port stream, kept open); past the timeout the instance is recycled
 * (a runaway handler may hold its process; the other instances are untouched).
 */
export async function invokeOn(
  deps: BuildDeps,
  pool: FunctionPool,
  fn: FunctionRow,
  v: VersionRow,
  requestId: string,
  event: unknown,
): Promise<InvokeResult> {
  const t0 = performance.now();
  const lease = await pool.acquire(v.version, v.snapshot_id!);
  const timeoutMs = v.config.timeoutS * 1000;
  const base = { requestId, version: v.version, cold: lease.cold };
  let a: ShimAnswer;
  try {
    a = await lease.shim.call<ShimAnswer>(
      {
        requestId,
        event: event ?? null,
        timeoutMs,
        functionName: fn.name,
        version: v.version,
        memoryMib: v.config.memoryMib,
      },
      timeoutMs,
    );
  } catch (e) {
    pool.recycle(lease.inst, e instanceof ShimTimeout ? 'invocation timed out' : 'invocation failed');
    if (e instanceof ShimTimeout) {
      return {
        ...base,
        status: 'timeout',
        error: {
          type: 'Timeout',
          message: `Task timed out after ${v.config.timeoutS} s; its instance was recycled.`,
          stack: [],
        },
        durationMs: timeoutMs,
        totalMs: performance.now() - t0,
        logs: '',
      };
    }
    throw new HearthError(
      'FUNCTION_INSTANCE_FAILED',
      `Invoking function "${fn.name}" failed: its instance stopped answering (${(e as Error).message}); it was recycled.`,
      { detail: { requestId } },
    );
  }
  pool.release(lease.inst);
  return {
    ...base,
    status: a.ok ? 'ok' : 'error',
    ...(a.ok ? { result: a.result } : { error: a.error! }),
    durationMs: a.ms,
    totalMs: performance.now() - t0,
    logs: a.logs.length > TAIL ? a.logs.slice(-TAIL) : a.logs,
  };
}
