// Manager processes for bench/cluster-scale.ts: `hearth manager` started through the real CLI on
// one database (PostgreSQL, or PGlite for one replica), plus the small API, metrics and event
// stream clients the scenario measures with.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamEvent, Vm } from '@hearth/contract';
import { CLI_ENV, freePort, runHearth, type Proc } from '../test/helpers/proc.ts';
import { rssMiB } from './lib.ts';

export interface ManagerProc {
  url: string;
  dir: string;
  proc: Proc;
  adminToken: string;
  joinToken: string;
  pid: number;
}

/**
 * Starts `hearth manager` on `databaseUrl` (null: PGlite in its data directory). The default
 * network gets a /16 so that 10,000 VMs hold an address each; logs at warn so that the manager
 * spends its time on the work measured, not on writing a line per VM.
 */
export async function startManagerProc(databaseUrl: string | null): Promise<ManagerProc> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-scale-'));
  const port = await freePort();
  const proc = runHearth(
    ['--data-dir', dir, 'manager', '--port', String(port)],
    {
      ...CLI_ENV,
      HEARTH_LOG_LEVEL: 'warn',
      HEARTH_CIDR: '10.96.0.0/16',
      HEARTH_BRIDGE: `hsc${port}`,
      HEARTH_DOCKER_SOCKET: '',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    // A CPU profile of the manager, written when it exits (looking for where the time goes).
    process.env.HEARTH_SCALE_PROFILE
      ? { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', process.env.HEARTH_SCALE_PROFILE] }
      : {},
  );
  try {
    await proc.waitFor('Hearth manager is up', 180_000);
  } catch (e) {
    await proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const read = async (p: string) => (await readFile(join(dir, p), 'utf8')).trim();
  return {
    url: `http://127.0.0.1:${port}`,
    dir,
    proc,
    adminToken: await read('admin.token'),
    joinToken: await read('manager/join.token'),
    pid: proc.child.pid!,
  };
}

export async function stopManagerProc(m: ManagerProc): Promise<void> {
  await m.proc.kill('SIGTERM');
  await rm(m.dir, { recursive: true, force: true });
}

/** The manager's resident memory (MiB), read from /proc. */
export const managerRss = (m: ManagerProc) => rssMiB(m.pid);

/** An admin's JSON call to a manager; throws with the body on an error status. */
export async function api<T>(m: ManagerProc, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(m.url + path, {
    method,
    headers: {
      authorization: `Bearer ${m.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 400)}`);
  return JSON.parse(text) as T;
}

/** Every VM, read page by page through the API (500 a page). */
export async function allVms(m: ManagerProc): Promise<Vm[]> {
  const out: Vm[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page: { items: Vm[]; nextCursor: string | null } = await api(m, 'GET', `/v1/vms?limit=500${q}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** One histogram family from a /metrics scrape: cumulative bucket counts per `le`, for one label set. */
export interface Histo {
  buckets: Map<number, number>;
  count: number;
  sum: number;
}

export async function scrapeHisto(
  m: ManagerProc,
  name: string,
  labels: Record<string, string>,
): Promise<Histo> {
  const res = await fetch(m.url + '/metrics', { headers: { authorization: `Bearer ${m.adminToken}` } });
  const text = await res.text();
  const h: Histo = { buckets: new Map(), count: 0, sum: 0 };
  for (const line of text.split('\n')) {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || !match[1]!.startsWith(name)) continue;
    const ls = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (!Object.entries(labels).every(([k, v]) => ls[k] === v)) continue;
    const v = Number(match[3]);
    if (match[1] === `${name}_bucket`) {
      const le = ls.le === '+Inf' ? Infinity : Number(ls.le);
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + v);
    } else if (match[1] === `${name}_count`) h.count += v;
    else if (match[1] === `${name}_sum`) h.sum += v;
  }
  return h;
}

/** What was observed between two scrapes. */
export function histoDiff(after: Histo, before: Histo): Histo {
  const buckets = new Map<number, number>();
  for (const [le, v] of after.buckets) buckets.set(le, v - (before.buckets.get(le) ?? 0));
  return { buckets, count: after.count - before.count, sum: after.sum - before.sum };
}

/** Prometheus' histogram_quantile: linear within the bucket that holds the quantile (seconds). */
export function histoQuantile(h: Histo, q: number): number {
  const les = [...h.buckets.keys()].sort((a, b) => a - b);
  const total = h.buckets.get(Infinity) ?? h.count;
  if (!total) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const c = h.buckets.get(le)!;
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, c - prevCount);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}

/**
 * Follows GET /v1/events of a manager: every VM event is stamped with the time it arrived, and
 * `waitFor` resolves with that time once one matches (events that came first count too).
 */
export async function followEvents(m: ManagerProc) {
  const ctl = new AbortController();
  const res = await fetch(m.url + '/v1/events', {
    headers: { authorization: `Bearer ${m.adminToken}` },
    signal: ctl.signal,
  });
  if (!res.ok || !res.body) throw new Error(`GET /v1/events: ${res.status}`);
  const seen: Array<{ at: number; e: StreamEvent }> = [];
  const waiters = new Set<() => void>();
  let buf = '';
  const pump = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: '', done: true }));
      if (done) return;
      const at = performance.now();
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const data = buf
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buf = buf.slice(end + 2);
        if (data) seen.push({ at, e: JSON.parse(data.slice(6)) as StreamEvent });
      }
      for (const w of [...waiters]) w();
    }
  })();
  return {
    seen,
    /** The arrival time of the first event after index `from` that matches, or null after `timeoutMs`. */
    waitFor(match: (e: StreamEvent) => boolean, from: number, timeoutMs: number): Promise<number | null> {
      return new Promise((resolve) => {
        const check = () => {
          const hit = seen.slice(from).find((s) => match(s.e));
          if (!hit) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit.at);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          resolve(null);
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async close() {
      ctl.abort();
      await pump.catch(() => undefined);
    },
  };
}
