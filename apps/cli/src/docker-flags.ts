import { MIN_MEMORY_MIB, parseSize, RestartPolicy, type ContainerPort } from '@hearth/contract';
import { UsageError } from './usage-error.ts';

/**
 * Docker's spellings of sizes, durations, ports, environment and volumes, turned into the
 * container contract's forms. Shared by `hearth run` and `hearth compose` (whose file uses the
 * same spellings); every refusal names the flag or field that was wrong.
 */

const GO_UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go/Docker duration (`30s`, `1m30s`, `1.5s`, `500ms`, `2h`) in the contract's Duration form:
 * one unit, the largest that states it exactly (`1m30s` → `90s`, `1.5s` → `1500ms`).
 */
export function dockerDuration(text: string, what: string): string {
  const t = text.trim();
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== t) {
    throw new UsageError(`${what} ${text} is not a duration (try 30s, 1m30s or 500ms).`);
  }
  const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * GO_UNIT_MS[p[2]!]!, 0));
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Seconds in a Docker duration (stop_grace_period, --time). */
export function durationSeconds(text: string, what: string): number {
  const d = dockerDuration(text, what);
  const m = /^(\d+)(ms|s|m|h)$/.exec(d)!;
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.ceil(Number(m[1]) * factor);
}

/** `256m`, `1g`, `512mb`, or a byte count: whole MiB, at least the contract's minimum. */
export function memoryMib(text: string | number, what: string): number {
  const bytes = typeof text === 'number' ? text : parseSize(text);
  if (bytes === null || !Number.isFinite(bytes)) {
    throw new UsageError(`${what} ${text} is not a size (try 256m or 1g).`);
  }
  const mib = Math.ceil(bytes / 2 ** 20);
  if (mib < MIN_MEMORY_MIB)
    throw new UsageError(`${what} ${text} is below the minimum of ${MIN_MEMORY_MIB}m.`);
  return mib;
}

/** Docker's fractional `--cpus 1.5`: a microVM has whole vCPUs, so it is rounded up. */
export function vcpus(text: string | number, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${what} ${text} is not a positive number of CPUs.`);
  return Math.ceil(n);
}

/** `-p HOST:CONTAINER[/tcp|udp]` (also `0.0.0.0:HOST:CONTAINER`). */
export function parsePort(item: string, what = '-p'): ContainerPort {
  const m = /^(?:(0\.0\.0\.0|\[::\]):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/.exec(item.trim());
  const host = Number(m?.[2]);
  const container = Number(m?.[3]);
  if (!m || host < 1 || host > 65535 || container < 1 || container > 65535) {
    const why = /^\d+(\/\w+)?$/.test(item.trim())
      ? ' (a host port is required: hearth publishes fixed ports)'
      : /^\d+\.\d+\.\d+\.\d+:/.test(item.trim())
        ? ' (only 0.0.0.0 may be given as the host address)'
        : '';
    throw new UsageError(`${what} ${item} must look like HOSTPORT:CONTAINERPORT[/udp]${why}.`);
  }
  return { host, container, protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp' };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `K=V`; a bare `K` takes the value from this environment (skipped when unset), as Docker does. */
export function parseEnvItem(
  item: string,
  what: string,
  environ: NodeJS.ProcessEnv = process.env,
): [string, string] | null {
  const i = item.indexOf('=');
  const key = i < 0 ? item : item.slice(0, i);
  if (!ENV_NAME.test(key))
    throw new UsageError(`${what} ${item}: ${key || '(empty)'} is not a variable name.`);
  if (i >= 0) return [key, item.slice(i + 1)];
  const v = environ[key];
  return v === undefined ? null : [key, v];
}

/**
 * An env file: `KEY=VALUE` lines, `#` comments, blank lines, a bare `KEY` taken from this
 * environment. `quotes` (the Compose format) also strips `export `, matching quotes (double
 * quotes with \n, \t, \" and \\ escapes) and ` #` comments after unquoted values; Docker's
 * --env-file keeps the value literally.
 */
export function parseEnvFile(
  text: string,
  file: string,
  o: { quotes: boolean; environ?: NodeJS.ProcessEnv },
): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, n) => {
    let line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) return;
    if (o.quotes) line = line.replace(/^export\s+/, '');
    const i = line.indexOf('=');
    const key = (i < 0 ? line : line.slice(0, i)).trim();
    if (!ENV_NAME.test(key))
      throw new UsageError(`${file}:${n + 1}: ${key || '(empty)'} is not a variable name.`);
    if (i < 0) {
      const v = (o.environ ?? process.env)[key];
      if (v !== undefined) out[key] = v;
      return;
    }
    let value = line.slice(i + 1);
    if (o.quotes) value = unquote(value.trim(), `${file}:${n + 1}`);
    out[key] = value;
  });
  return out;
}

function unquote(v: string, where: string): string {
  const q = v[0];
  if (q === '"' || q === "'") {
    const end = v.indexOf(q, 1);
    let e = end;
    if (q === '"') while (e > 0 && v[e - 1] === '\\') e = v.indexOf(q, e + 1);
    if (e < 0) throw new UsageError(`${where}: the value opens a ${q} quote that never closes.`);
    const inner = v.slice(1, e);
    if (q === "'") return inner;
    return inner.replace(/\\([nt"\\])/g, (_, c: string) => ({ n: '\n', t: '\t', '"': '"', '\\': '\\' })[c]!);
  }
  return v.replace(/\s+#.*$/, '');
}

/** `-v VOLUME:/path[:ro|rw]`: named volumes only (a host path cannot be mounted into a microVM). */
export function parseVolume(
  item: string,
  what = '-v',
): { source: string; target: string; readOnly: boolean } {
  const [source = '', target, mode, ...rest] = item.split(':');
  if (/^[./~]/.test(source)) {
    throw new UsageError(
      `${what} ${item}: bind mounts of host paths are not supported; use a named volume (NAME:${target ?? '/path'}).`,
    );
  }
  if (!target || rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new UsageError(`${what} ${item} must look like VOLUME:/path or VOLUME:/path:ro.`);
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(source)) {
    throw new UsageError(
      `${what} ${item}: the volume name ${source} must be lowercase letters, digits and dashes.`,
    );
  }
  if (!target.startsWith('/')) throw new UsageError(`${what} ${item}: ${target} is not an absolute path.`);
  return { source, target, readOnly: mode === 'ro' };
}

/** `--label K=V` (a bare `K` is an empty value, as Docker does). */
export function parseLabel(item: string, what = '--label'): [string, string] {
  const i = item.indexOf('=');
  const key = i < 0 ? item : item.slice(0, i);
  if (!key) throw new UsageError(`${what} ${item} must look like KEY=VALUE.`);
  return [key, i < 0 ? '' : item.slice(i + 1)];
}

/** `--secret-env VAR=SECRET`: the variable's value comes from the project secret SECRET. */
export function parseSecretEnv(item: string): [string, string] {
  const i = item.indexOf('=');
  const key = item.slice(0, Math.max(0, i));
  if (i < 1 || !ENV_NAME.test(key) || !item.slice(i + 1)) {
    throw new UsageError(`--secret-env ${item} must look like VARIABLE=SECRETNAME.`);
  }
  return [key, item.slice(i + 1)];
}

export function restartPolicy(text: string, what = '--restart'): string {
  if (!RestartPolicy.safeParse(text).success) {
    throw new UsageError(
      `${what} ${text} must be one of no, always, unless-stopped, on-failure, on-failure:MAX.`,
    );
  }
  return text;
}

/**
 * Splits a command line into words as a POSIX shell would without expanding anything (single
 * and double quotes, backslash escapes): Compose's string `command:` and `entrypoint:`.
 */
export function shellWords(text: string, what: string): string[] {
  const words: string[] = [];
  // null: between words; '' is an empty word (`''`).
  let cur: string | null = null;
  let q: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q === "'") {
      if (ch === "'") q = null;
      else cur += ch;
    } else if (q === '"') {
      if (ch === '"') q = null;
      else if (ch === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) cur = `${cur ?? ''}${text[++i]!}`;
      else cur += ch;
    } else if (/\s/.test(ch)) {
      if (cur !== null) words.push(cur);
      cur = null;
    } else {
      cur ??= '';
      if (ch === "'" || ch === '"') q = ch;
      else if (ch === '\\' && i + 1 < text.length) cur += text[++i];
      else cur += ch;
    }
  }
  if (q) throw new UsageError(`${what}: a ${q} quote never closes in ${text}.`);
  if (cur !== null) words.push(cur);
  return words;
}
