import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ContainerLogLine } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';

export interface LogOptions {
  follow?: boolean;
  since?: string;
  until?: string;
  tail?: string;
  timestamps?: boolean;
  /** Put before each line (compose: `web-1  | `). */
  prefix?: string;
  signal?: AbortSignal;
}

/** Where the last line printed was (updated as lines are printed): a later read resumes after it. */
export interface LogCursor {
  t: string | null;
  /** Lines already printed with exactly time `t`. */
  atT: number;
}

/**
 * Streams a container's logs (NDJSON, so stdout and stderr stay apart: the app's stderr goes
 * to ours). Resolves when the manager ends the stream or `signal` aborts it.
 */
export async function printLogs(
  c: HearthClient,
  id: string,
  o: LogOptions,
  cursor: LogCursor = { t: null, atT: 0 },
): Promise<LogCursor> {
  let res: Response;
  try {
    res = await c.raw(
      'containerLogs',
      {
        params: { id },
        query: {
          format: 'ndjson',
          ...(o.follow ? { follow: 'true' } : {}),
          ...(o.since ? { since: o.since } : {}),
          ...(o.until ? { until: o.until } : {}),
          ...(o.tail ? { tail: o.tail } : {}),
        },
      },
      o.signal ? { signal: o.signal } : {},
    );
  } catch (e) {
    if (o.signal?.aborted) return cursor;
    throw e;
  }
  // A resumed read starts at the last time printed: skip the lines of that time already shown.
  const skipT = cursor.t;
  let skip = cursor.atT;
  const lines = createInterface({ input: Readable.fromWeb(res.body as never) });
  try {
    for await (const text of lines) {
      if (!text.trim()) continue;
      const l = JSON.parse(text) as ContainerLogLine;
      if (skipT !== null && l.t === skipT && skip > 0) {
        skip--;
        continue;
      }
      const out = l.stream === 'stderr' ? process.stderr : process.stdout;
      out.write(`${o.prefix ?? ''}${o.timestamps ? `${l.t} ` : ''}${l.line}\n`);
      if (l.t === cursor.t) cursor.atT++;
      else Object.assign(cursor, { t: l.t, atT: 1 });
    }
  } catch (e) {
    if (!o.signal?.aborted) throw e;
  }
  return cursor;
}
