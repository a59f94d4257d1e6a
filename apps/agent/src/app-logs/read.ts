import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EventEmitter } from 'node:events';
import { HearthError, type ContainerLogLine, type ContainerLogsQuery } from '@hearth/contract';
import type { StoredLine } from './store.ts';

/** ContainerLogsQuery, parsed: what to send and how. */
export interface LogSelection {
  follow: boolean;
  sinceMs: number | null;
  untilMs: number | null;
  tail: number | null;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  format: 'text' | 'ndjson';
}

const yes = (v: string | undefined, dflt: boolean) => (v === undefined ? dflt : v === 'true' || v === '1');

/** RFC 3339, unix seconds (with fraction) or a duration back from now (`90s`, `10m`, `2h`, `1d`). */
export function parseTime(v: string, field: string, now = Date.now()): number {
  const dur = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v);
  if (dur) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[dur[2] as 'ms'];
    return now - Number(dur[1]) * unit;
  }
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `${field} is not a time: use RFC 3339, unix seconds or a duration like 10m.`,
      {
        fields: { [field]: ['RFC 3339 time, unix seconds, or a duration (10m)'] },
      },
    );
  }
  return t;
}

export function selection(q: ContainerLogsQuery, now = Date.now()): LogSelection {
  let tail: number | null = null;
  if (q.tail !== undefined && q.tail !== 'all') {
    if (!/^\d+$/.test(q.tail)) {
      throw new HearthError('VALIDATION_FAILED', 'tail must be `all` or a number of lines.', {
        fields: { tail: ['`all` or a whole number'] },
      });
    }
    tail = Number(q.tail);
  }
  return {
    follow: yes(q.follow, false),
    sinceMs: q.since ? parseTime(q.since, 'since', now) : null,
    untilMs: q.until ? parseTime(q.until, 'until', now) : null,
    tail,
    stdout: yes(q.stdout, true),
    stderr: yes(q.stderr, true),
    timestamps: yes(q.timestamps, false),
    format: q.format ?? 'text',
  };
}

/** A stored line as the client sees it, or null when the selection leaves it out. */
export function toLogLine(l: StoredLine, sel: LogSelection): ContainerLogLine | null {
  let out: ContainerLogLine;
  if (l.gap) {
    const n = l.gap[1] - l.gap[0] + 1;
    out = {
      t: l.t,
      stream: 'stderr',
      line: `hearth: ${n} line(s) of app output lost (the guest no longer held them when they were fetched)`,
    };
  } else out = { t: l.t, stream: l.o ?? 'stdout', line: l.l ?? '' };
  if (out.stream === 'stdout' ? !sel.stdout : !sel.stderr) return null;
  const ms = Date.parse(out.t);
  if (sel.sinceMs !== null && ms < sel.sinceMs) return null;
  if (sel.untilMs !== null && ms > sel.untilMs) return null;
  return out;
}

export function render(l: ContainerLogLine, sel: LogSelection): string {
  if (sel.format === 'ndjson') return JSON.stringify(l) + '\n';
  return (sel.timestamps ? `${l.t} ` : '') + l.line + '\n';
}

async function* storedLines(files: string[]): AsyncGenerator<StoredLine> {
  for (const f of files) {
    const input = createReadStream(f, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const text of lines) {
        if (!text) continue;
        try {
          yield JSON.parse(text) as StoredLine;
        } catch {
          // a line cut by a crash mid-write
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    } finally {
      lines.close();
      input.destroy();
    }
  }
}

export interface LogSink {
  /** Writes one chunk; resolves when the client can take more. */
  write(s: string): Promise<void>;
  /** Resolves when the client went away. */
  gone: Promise<void>;
  isGone(): boolean;
}

/**
 * Sends the stored lines the selection asks for, then (follow) the lines stored from now on until
 * the client goes away. Lines that arrive while the files are read are sent once.
 */
export async function sendLogs(
  files: string[],
  live: EventEmitter,
  vmId: string,
  sel: LogSelection,
  sink: LogSink,
): Promise<void> {
  const pending: StoredLine[] = [];
  let wake: (() => void) | null = null;
  const onLive = (lines: StoredLine[]) => {
    pending.push(...lines);
    wake?.();
  };
  if (sel.follow) live.on(vmId, onLive);
  try {
    let last: StoredLine | null = null;
    const kept: ContainerLogLine[] = [];
    for await (const l of storedLines(files)) {
      if (sink.isGone()) return;
      last = l;
      const out = toLogLine(l, sel);
      if (!out) continue;
      if (sel.tail === null) await sink.write(render(out, sel));
      else {
        kept.push(out);
        if (kept.length > sel.tail) kept.shift();
      }
    }
    for (const out of kept) await sink.write(render(out, sel));
    if (!sel.follow) return;
    const seen = (l: StoredLine) =>
      last !== null && l.s !== undefined && last.s !== undefined && l.b === last.b && l.s <= last.s;
    while (!sink.isGone()) {
      const batch = pending.splice(0);
      for (const l of batch) {
        if (seen(l)) continue;
        const out = toLogLine(l, sel);
        if (out) await sink.write(render(out, sel));
      }
      if (pending.length) continue;
      await Promise.race([new Promise<void>((r) => (wake = r)), sink.gone]);
      wake = null;
    }
  } finally {
    live.off(vmId, onLive);
  }
}
