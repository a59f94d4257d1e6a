import type { Logger } from 'pino';
import { LOG_REDACT } from '@hearth/contract/log-redaction';
import type { HostConfig } from '@hearth/contract/host-config';

/**
 * The logger of `hearth up`, `manager` and `agent`: JSON lines (journald, files, log shippers keep
 * every field), or, on a terminal, one readable line per record. `log.format` (HEARTH_LOG_FORMAT)
 * forces either. The readable form is a small formatter of our own rather than pino-pretty (not a
 * dependency, and it runs a worker thread per process): docs/decisions/0023-service-install-and-config.md.
 */
export async function hostLogger(
  cfg: HostConfig['log'],
  out: NodeJS.WriteStream = process.stdout,
): Promise<Logger> {
  const { default: pino } = await import('pino');
  const pretty = cfg.format === 'pretty' || (cfg.format === 'auto' && out.isTTY === true);
  const opts = { level: cfg.level, redact: LOG_REDACT };
  if (!pretty) return pino(opts);
  return pino(opts, { write: (line: string) => void out.write(prettyLine(line)) });
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields every record has, shown in the line's head rather than as key=value. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'service', 'component']);

/** `12:03:04.567 INFO  manager/vms: message key=value …`; a line that is not JSON passes as it is. */
export function prettyLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[rec.level as number] ?? String(rec.level);
  const who = [rec.service, rec.component].filter((x) => typeof x === 'string').join('/');
  const rest = Object.entries(rec)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const err = rec.err as { stack?: string } | undefined;
  const stack = typeof err?.stack === 'string' ? `\n${err.stack}` : '';
  return `${time} ${level} ${who ? `${who}: ` : ''}${String(rec.msg ?? '')}${rest.length ? ' ' + rest.join(' ') : ''}${stack}\n`;
}
