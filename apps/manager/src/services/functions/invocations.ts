import { randomUUID } from 'node:crypto';
import { HearthError, type Invocation, type InvokeResult } from '@hearth/contract';
import type { BuildDeps } from './build.ts';
import type { FunctionPool } from './instances.ts';
import { invokeOn, withLogTail } from './invoke.ts';
import type { FunctionRow, FunctionStore, LogRow, VersionRow } from './store.ts';

export interface VersionChoice {
  alias?: string | undefined;
  version?: number | undefined;
}

/** Invoking functions (now or in the background), reading an asynchronous one, and the figures. */
export class FunctionInvocations {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly deps: BuildDeps,
    private readonly store: FunctionStore,
    private readonly poolOf: (row: FunctionRow) => FunctionPool,
  ) {}

  /** Waits for the asynchronous invocations still running (a manager stopping). */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** Runs the handler of the alias's (default `live`) or the given version, and logs it. */
  async invoke(row: FunctionRow, q: VersionChoice, event: unknown): Promise<InvokeResult> {
    const v = await this.readyVersion(row, q);
    const requestId = randomUUID();
    const out = await invokeOn(this.deps, this.poolOf(row), row, v, requestId, event).catch(
      async (e: unknown) => {
        // A refusal is a figure of the function (its throttles): it is kept with the invocations.
        if (e instanceof HearthError && e.code === 'FUNCTION_THROTTLED') {
          await this.store
            .addLog({
              function_id: row.id,
              request_id: requestId,
              version: v.version,
              status: 'throttled',
              duration_ms: 0,
              cold: false,
              logs: '',
            })
            .catch((err: Error) => this.deps.log.warn({ err, requestId }, 'recording a throttle failed'));
        }
        throw e;
      },
    );
    await this.store.addLog({ function_id: row.id, request_id: requestId, ...logFields(out) });
    return withLogTail(out);
  }

  /**
   * Accepts an invocation and runs it in the background: its log row is `pending` until it ends,
   * then holds the answer. A full queue refuses it now (429), as the synchronous call would.
   */
  async invokeAsync(row: FunctionRow, q: VersionChoice, event: unknown): Promise<Invocation> {
    const v = await this.readyVersion(row, q);
    const requestId = randomUUID();
    await this.store.addLog({
      function_id: row.id,
      request_id: requestId,
      version: v.version,
      status: 'pending',
      duration_ms: 0,
      cold: false,
      logs: '',
    });
    const pool = this.poolOf(row);
    const run = invokeOn(this.deps, pool, row, v, requestId, event).then(
      (out) => this.store.finishLog(row.id, requestId, { ...logFields(out), result: withLogTail(out) }),
      (e: Error) => {
        const code = e instanceof HearthError ? e.code : 'FUNCTION_INSTANCE_FAILED';
        return this.store.finishLog(row.id, requestId, {
          status: 'failed',
          version: v.version,
          duration_ms: 0,
          cold: false,
          logs: '',
          result: { code, message: e.message },
        });
      },
    );
    const task = run
      .catch((e: Error) => this.deps.log.warn({ err: e, requestId }, 'recording an invocation failed'))
      .finally(() => this.running.delete(task));
    this.running.add(task);
    return this.invocationOf(row, (await this.store.logByRequest(row.id, requestId))!);
  }

  /** An asynchronous invocation; with `waitS`, waits that long while it is pending. */
  async get(row: FunctionRow, requestId: string, waitS: number): Promise<Invocation> {
    const deadline = Date.now() + waitS * 1000;
    for (;;) {
      const r = await this.store.logByRequest(row.id, requestId);
      if (!r) {
        throw new HearthError(
          'FUNCTION_INVOCATION_NOT_FOUND',
          `Function "${row.name}" has no invocation ${requestId}.`,
        );
      }
      if (r.status !== 'pending' || Date.now() >= deadline) return this.invocationOf(row, r);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  private async readyVersion(row: FunctionRow, q: VersionChoice): Promise<VersionRow> {
    const aliases = await this.store.aliases(row.id);
    const n = q.version ?? aliases[q.alias ?? 'live'];
    const v = n === undefined ? null : await this.store.version(row.id, n);
    if (!v || v.state !== 'ready' || !v.snapshot_id) {
      throw new HearthError(
        'FUNCTION_NOT_READY',
        `Invoking function "${row.name}" failed: ${q.version ? `version ${q.version}` : `alias ${q.alias ?? 'live'}`} has no ready version.`,
      );
    }
    return v;
  }

  private invocationOf(row: FunctionRow, r: LogRow): Invocation {
    const state = r.status === 'pending' ? 'pending' : r.status === 'failed' ? 'failed' : 'done';
    return {
      requestId: r.request_id,
      state,
      resultUrl: `/v1/functions/${row.name}/invocations/${r.request_id}?project=${encodeURIComponent(row.project)}`,
      ...(state === 'done' && r.result ? { result: r.result as InvokeResult } : {}),
      ...(state === 'failed' ? { error: r.result as { code: string; message: string } } : {}),
      at: new Date(r.at).toISOString(),
    };
  }
}

function logFields(out: InvokeResult) {
  return {
    version: out.version,
    status: out.status,
    duration_ms: Math.round(out.durationMs),
    cold: out.cold,
    logs: out.logs,
  };
}
