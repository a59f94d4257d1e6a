import { ContainerLogLine } from '@hearth/contract';

/** Lines kept in the page; older ones drop off the top (`hearth logs` reads the whole history). */
export const MAX_LINES = 5000;

/** How many lines back a (re)opened log starts. */
const TAIL = 1000;

export interface LogFilter {
  /** Case-insensitive text the line must contain; empty: every line. */
  search: string;
  stdout: boolean;
  stderr: boolean;
}

/** One received line, numbered in arrival order (a stable React key). */
export interface LogEntry extends ContainerLogLine {
  n: number;
}

/**
 * Appends the NDJSON records of one read to the kept lines. Records that are not log lines
 * (a newer server's extra kinds) are skipped; past `max`, the oldest lines go.
 */
export function appendRecords(kept: LogEntry[], records: unknown[], max = MAX_LINES): LogEntry[] {
  let n = kept.at(-1)?.n ?? 0;
  const more: LogEntry[] = [];
  for (const r of records) {
    const line = ContainerLogLine.safeParse(r);
    if (line.success) more.push({ ...line.data, n: ++n });
  }
  if (!more.length) return kept;
  const next = kept.concat(more);
  return next.length > max ? next.slice(next.length - max) : next;
}

/** The lines the filter lets through, oldest first. */
export function filterLines(lines: readonly LogEntry[], f: LogFilter): LogEntry[] {
  const q = f.search.trim().toLowerCase();
  return lines.filter(
    (l) => (l.stream === 'stdout' ? f.stdout : f.stderr) && (q === '' || l.line.toLowerCase().includes(q)),
  );
}

/** Where `search` occurs in a line, to highlight: the parts before, in and after each match. */
export function splitMatches(line: string, search: string): { text: string; match: boolean }[] {
  const q = search.trim().toLowerCase();
  if (!q) return [{ text: line, match: false }];
  const out: { text: string; match: boolean }[] = [];
  const lower = line.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, at)) {
    if (i > at) out.push({ text: line.slice(at, i), match: false });
    out.push({ text: line.slice(i, i + q.length), match: true });
    at = i + q.length;
  }
  if (at < line.length) out.push({ text: line.slice(at), match: false });
  return out;
}

/** The query of GET /v1/containers/{id}/logs for the viewer: NDJSON, both streams, with times. */
export function logsQuery(follow: boolean) {
  return {
    format: 'ndjson',
    follow: follow ? 'true' : 'false',
    tail: String(TAIL),
    timestamps: 'true',
  } as const;
}

/** `12:03:04.512`: the time of day of a line, in the browser's zone, to the millisecond. */
export function lineTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
