import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import {
  METRICS_BUCKETS,
  METRICS_RANGES,
  type FunctionLog,
  type FunctionLogsQuery,
  type FunctionMetrics,
} from '@hearth/contract';
import { flushHeadersOnPipe } from '@hearth/contract/streams';
import type { FunctionPool } from './instances.ts';
import { followLogs } from './log-follow.ts';
import { FunctionObserveStore, logOf } from './observe-store.ts';
import type { FunctionRow, FunctionStore } from './store.ts';

type Range = keyof typeof METRICS_RANGES;

/** A function's log (listed, searched, followed) and its metrics. */
export class FunctionObserve {
  private readonly obs: FunctionObserveStore;

  constructor(
    private readonly store: FunctionStore,
    private readonly poolOf: (row: FunctionRow) => FunctionPool | undefined,
  ) {
    this.obs = new FunctionObserveStore(store.db);
  }

  async metrics(row: FunctionRow, range: Range): Promise<FunctionMetrics> {
    const pool = this.poolOf(row);
    const bucketS = METRICS_BUCKETS[range];
    return {
      range,
      ...(await this.obs.metrics(row.id, METRICS_RANGES[range], bucketS)),
      concurrent: pool?.concurrent() ?? 0,
      instances: pool?.instances.filter((i) => i.state === 'ready').length ?? 0,
      bucketS,
    };
  }

  /** The list as JSON; with `follow`, the NDJSON stream (answered at once, kept open). */
  async logs(
    row: FunctionRow,
    q: FunctionLogsQuery,
    reply: FastifyReply,
  ): Promise<{ items: FunctionLog[] } | Readable> {
    const filter = { requestId: q.requestId, q: q.q };
    if (q.follow !== 'true' && q.follow !== '1') {
      return { items: (await this.obs.logs(row.id, q.limit, filter)).map(logOf) };
    }
    const left = new AbortController();
    reply.raw.once('close', () => left.abort());
    reply.type('application/x-ndjson');
    // A response that only grows must not be buffered by a proxy on the way.
    reply.header('cache-control', 'no-store');
    reply.header('x-accel-buffering', 'no');
    flushHeadersOnPipe(reply.raw);
    return followLogs(this.obs, this.store.logEvents, row.id, q.limit, filter, left.signal);
  }
}
