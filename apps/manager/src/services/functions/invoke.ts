import { HearthError, type InvokeResult } from '@hearth/contract';
import type { BuildDeps } from './build.ts';
import { guestExec, type Guest } from './guest.ts';
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

/** The most of an invocation's output kept; the shims stop there with the same marker. */
const MAX_LOG = 64 * 1024;
const LOG_CUT = '\n[hearth: output past 64 KiB dropped]\n';

/** The output as stored: a shim that sent more than the cap (an old one) is cut here the same way. */
const capped = (logs: string) =>
  logs.length > MAX_LOG + LOG_CUT.length ? logs.slice(0, MAX_LOG) + LOG_CUT : logs;

/** The answer to the caller: the last TAIL characters of the output (the log keeps it whole). */
export function withLogTail(out: InvokeResult): InvokeResult {
  return out.logs.length > TAIL ? { ...out, logs: out.logs.slice(-TAIL) } : out;
}

/** How long asking a broken instance's guest whether its kernel killed the handler may take. */
const OOM_PROBE_MS = 15_000;

/**
 * Whether the guest's kernel killed a process for want of memory (its log says so; the snapshot
 * was taken before any could run out): the handler's, when its stream broke. The guest kernel
 * counts no `oom_kill` in /proc/vmstat, so its log is read.
 */
async function outOfMemory(deps: BuildDeps, g: Guest): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), OOM_PROBE_MS)));
  const probe = guestExec(deps.agents, g, ['dmesg'], { timeoutMs: OOM_PROBE_MS }).catch(() => null);
  const r = await Promise.race([probe, late]).finally(() => clearTimeout(timer));
  return r?.exitCode === 0 && /Out of memory: Killed process \d+/.test(r.stdout);
}

/**
 * One invocation on an instance of the pool: the event goes to the shim over the instance's
 * stream (the guest agent's TCP port stream, kept open); past the timeout the instance is recycled
 * (a runaway handler may hold its process; the other instances are untouched). The answer's
 * `logs` is the whole output (capped); callers hand out its tail (withLogTail).
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
    // A broken stream may be the handler killed for want of memory: the guest is asked before its
    // VM goes (the instance leaves the rotation at once).
    const oom = e instanceof ShimTimeout ? Promise.resolve(false) : outOfMemory(deps, lease.guest);
    pool.recycle(lease.inst, e instanceof ShimTimeout ? 'invocation timed out' : 'invocation failed', oom);
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
    if (await oom) {
      throw new HearthError(
        'FUNCTION_OUT_OF_MEMORY',
        `Invoking function "${fn.name}" failed: the handler ran out of memory (memoryMib ${v.config.memoryMib}) and was killed; its instance was recycled.`,
        { detail: { requestId, memoryMib: v.config.memoryMib } },
      );
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
    logs: capped(a.logs),
  };
}
