import type {
  HistoryRange,
  HostHistoryPoint,
  HostMetricsHistory,
  VmHistoryPoint,
  VmMetricsHistory,
  VmSample,
} from '@hearth/contract';
import type { Db } from '../../db/index.ts';

/** The tiers: raw samples every 10 s kept an hour, then one-minute averages kept a day. */
export const RAW_STEP_MS = 10_000;
export const RAW_KEEP_MS = 3600_000;
export const MINUTE_MS = 60_000;
export const MINUTE_KEEP_MS = 24 * 3600_000;
/** A sample this close after the last kept one of its subject is dropped (heartbeats come every 5 s). */
const RAW_MIN_GAP_MS = RAW_STEP_MS - 1500;

const RANGE_MS: Record<HistoryRange, number> = { '1h': 3600_000, '6h': 6 * 3600_000, '24h': 24 * 3600_000 };

/** Series of each kind, in the order of the stored array (never reordered: rows keep it). */
const VM_SERIES = [
  'cpuPercent',
  'memUsedBytes',
  'memTotalBytes',
  'diskUsedBytes',
  'diskTotalBytes',
  'rxBytesPerSec',
  'txBytesPerSec',
] as const;
const HOST_SERIES = [
  'memUsedBytes',
  'memTotalBytes',
  'diskFreeBytes',
  'vmCount',
  'allocatedVcpus',
  'allocatedMemoryBytes',
  'cpuPercent',
] as const;

type Kind = 'vm' | 'host';
export type HostSample = Omit<HostHistoryPoint, 'at'>;

export interface HistoryDeps {
  db: Db;
  /** The time samples are stamped with and tiers age by (tests move it on). */
  now?: () => number;
}

interface Row {
  at: Date | string;
  v: Array<number | null>;
}

/**
 * The samples behind the dashboard's charts, kept server-side so a chart opened now shows the day
 * before. Writes are a row per subject every 10 s at most; once a minute the raw rows of the
 * minutes just completed are averaged into tier 1 and both tiers are pruned past their keep, so a
 * VM holds at most ~360 + 1440 rows whatever its age.
 */
export class MetricsHistory {
  private readonly db: Db;
  readonly now: () => number;
  private readonly lastKept = new Map<string, number>();
  /** Start of the first minute not yet averaged (null: not known since start-up). */
  private compactedTo: number | null = null;
  private compacting: Promise<void> | null = null;

  constructor(deps: HistoryDeps) {
    this.db = deps.db;
    this.now = deps.now ?? Date.now;
  }

  /** Keeps a heartbeat's VM samples (stamped now: the agent's clock is not trusted for order). */
  async recordVms(samples: VmSample[]): Promise<void> {
    const rows = samples.map((s) => ({ kind: 'vm' as const, subject: s.id, v: VM_SERIES.map((k) => s[k]) }));
    await this.insert(rows);
  }

  async recordHost(hostId: string, s: HostSample): Promise<void> {
    await this.insert([{ kind: 'host', subject: hostId, v: HOST_SERIES.map((k) => s[k]) }]);
  }

  async vm(id: string, range: HistoryRange): Promise<VmMetricsHistory> {
    const { rows, stepSeconds } = await this.read('vm', id, range);
    const points = rows.map((r) => pointOf(VM_SERIES, r) as VmHistoryPoint);
    return { range, stepSeconds, points };
  }

  async host(id: string, range: HistoryRange): Promise<HostMetricsHistory> {
    const { rows, stepSeconds } = await this.read('host', id, range);
    const points = rows.map((r) => {
      const p = pointOf(HOST_SERIES, r);
      // Absent counts are not part of a host's sample: 0 rather than null. CPU stays null where
      // it was not measured (the first heartbeat, rows kept before hosts reported it).
      for (const k of HOST_SERIES) if (k !== 'cpuPercent') p[k] ??= 0;
      return p as HostHistoryPoint;
    });
    return { range, stepSeconds, points };
  }

  /** Rows kept, by tier (the bench's and the tests' view of the bound). */
  async rowCounts(): Promise<{ raw: number; minute: number }> {
    const r = await this.db.query<{ tier: number; n: number }>(
      'SELECT tier, count(*)::int AS n FROM metric_samples GROUP BY tier',
    );
    const n = (t: number) => Number(r.find((x) => Number(x.tier) === t)?.n ?? 0);
    return { raw: n(0), minute: n(1) };
  }

  /** Whether a sample of this subject taken now would be kept (10 s since the last one). */
  due(kind: Kind, subject: string): boolean {
    const last = this.lastKept.get(`${kind}/${subject}`);
    const now = this.now();
    return last === undefined || now - last >= RAW_MIN_GAP_MS || now < last;
  }

  private async insert(rows: Array<{ kind: Kind; subject: string; v: Array<number | null> }>) {
    const now = this.now();
    const keep = rows.filter((r) => {
      if (!this.due(r.kind, r.subject)) return false;
      this.lastKept.set(`${r.kind}/${r.subject}`, now);
      return true;
    });
    if (keep.length) {
      const values = keep.map((_, i) => `($${i * 3 + 2}, $${i * 3 + 3}, 0, $1, $${i * 3 + 4}::real[])`);
      await this.db.query(
        `INSERT INTO metric_samples (kind, subject, tier, at, v) VALUES ${values.join(', ')}
         ON CONFLICT (kind, subject, tier, at) DO UPDATE SET v = EXCLUDED.v`,
        [new Date(now).toISOString(), ...keep.flatMap((r) => [r.kind, r.subject, pgArray(r.v)])],
      );
    }
    await this.maybeCompact(now);
  }

  /** Averages the minutes completed since the last run, then prunes both tiers (once per minute). */
  private async maybeCompact(now: number): Promise<void> {
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    if (this.compactedTo !== null && minute <= this.compactedTo) return;
    if (this.compacting) return this.compacting;
    const from = this.compactedTo ?? minute - RAW_KEEP_MS;
    this.compacting = this.compact(from, minute, now).finally(() => (this.compacting = null));
    await this.compacting;
    this.compactedTo = minute;
  }

  private async compact(from: number, to: number, now: number): Promise<void> {
    // Each array position averaged on its own (nulls left out); a minute already averaged (a
    // restart re-runs the last hour) is written again from the same raw rows.
    await this.db.query(
      `INSERT INTO metric_samples (kind, subject, tier, at, v)
       SELECT kind, subject, 1, bucket, array_agg(val ORDER BY i) FROM (
         SELECT kind, subject, date_trunc('minute', at) AS bucket, u.i, avg(u.x)::real AS val
         FROM metric_samples, unnest(v) WITH ORDINALITY AS u(x, i)
         WHERE tier = 0 AND at >= $1 AND at < $2
         GROUP BY kind, subject, bucket, u.i) s
       GROUP BY kind, subject, bucket
       ON CONFLICT (kind, subject, tier, at) DO UPDATE SET v = EXCLUDED.v`,
      [new Date(from).toISOString(), new Date(to).toISOString()],
    );
    await this.db.query('DELETE FROM metric_samples WHERE (tier = 0 AND at < $1) OR (tier = 1 AND at < $2)', [
      new Date(now - RAW_KEEP_MS - MINUTE_MS).toISOString(),
      new Date(now - MINUTE_KEEP_MS - MINUTE_MS).toISOString(),
    ]);
  }

  private async read(kind: Kind, subject: string, range: HistoryRange) {
    const raw = range === '1h';
    const since = new Date(this.now() - RANGE_MS[range]).toISOString();
    const rows = await this.db.query<Row>(
      'SELECT at, v FROM metric_samples WHERE kind = $1 AND subject = $2 AND tier = $3 AND at >= $4 ORDER BY at',
      [kind, subject, raw ? 0 : 1, since],
    );
    return { rows, stepSeconds: raw ? RAW_STEP_MS / 1000 : MINUTE_MS / 1000 };
  }

  /** The VMs placed on a host (whose samples its heartbeat may bring). */
  async vmsOn(hostId: string): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM vms WHERE host_id = $1', [hostId]);
    return rows.map((r) => r.id);
  }

  /** A deleted VM's or host's rows go at once (they would age out within a day anyway). */
  async forget(kind: Kind, subject: string): Promise<void> {
    await this.db.query('DELETE FROM metric_samples WHERE kind = $1 AND subject = $2', [kind, subject]);
  }
}

/** A PostgreSQL array literal: both drivers take it as text for a `::real[]` parameter. */
function pgArray(v: Array<number | null>): string {
  return `{${v.map((x) => (x === null || !Number.isFinite(x) ? 'NULL' : String(x))).join(',')}}`;
}

function pointOf<K extends string>(series: readonly K[], r: Row): Record<K, number | null> & { at: string } {
  const v = typeof r.v === 'string' ? parseArray(r.v) : r.v;
  const p = { at: new Date(r.at).toISOString() } as Record<K, number | null> & { at: string };
  series.forEach((k, i) => ((p as Record<string, number | null>)[k] = v[i] === undefined ? null : v[i]));
  return p;
}

function parseArray(s: string): Array<number | null> {
  return s
    .replace(/^\{|\}$/g, '')
    .split(',')
    .map((x) => (x === 'NULL' ? null : Number(x)));
}
