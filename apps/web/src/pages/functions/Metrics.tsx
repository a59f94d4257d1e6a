import { useMemo, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { METRICS_RANGES, type FunctionInfo, type FunctionMetrics as Metrics } from '@hearth/contract';
import { fnQueries } from '../../api/function-queries.ts';
import { useSession } from '../../api/session.tsx';
import { inputClass } from '../../components/Field.tsx';
import { Card, ErrorLine, errorText } from '../../components/ui.tsx';
import { Chart, type Series } from '../vm/Chart.tsx';
import { chartData, formatMs, type Columns } from './metrics-chart.ts';

type Range = keyof typeof METRICS_RANGES;

const COUNT_SERIES: Series[] = [
  { label: 'invocations', color: '#2563eb' },
  { label: 'errors', color: '#dc2626' },
  { label: 'throttles', color: '#d97706' },
];
const DURATION_SERIES: Series[] = [
  { label: 'p50', color: '#16a34a' },
  { label: 'p95', color: '#9333ea' },
  { label: 'p99', color: '#ea580c' },
];
const count = (n: number) => n.toFixed(0);

function tiles(m: Metrics): [string, string][] {
  const ms = (n: number | null) => (n === null ? '—' : formatMs(n));
  return [
    ['Invocations', String(m.invocations)],
    ['Errors', String(m.errors)],
    ['Throttles', String(m.throttles)],
    ['Cold starts', String(m.coldStarts)],
    ['Duration p50', ms(m.durationMs.p50)],
    ['Duration p95', ms(m.durationMs.p95)],
    ['Duration p99', ms(m.durationMs.p99)],
    ['Concurrent now', String(m.concurrent)],
  ];
}

/** The chart's numbers as a table (the text alternative of the canvas), the non-empty buckets only. */
function DataTable({ name, cols, series }: { name: string; cols: Columns; series: Series[] }) {
  const rows = cols[0]
    .map((t, i) => [t, ...cols.slice(1).map((c) => c[i] ?? null)] as [number, ...(number | null)[]])
    .filter((r) => r.slice(1).some((v) => v !== null && v !== 0));
  return (
    <details className="mt-1 text-xs">
      <summary className="cursor-pointer text-slate-600 dark:text-slate-300">{name} as a table</summary>
      <table data-testid={`fn-chart-data-${name.toLowerCase()}`} className="mt-1 tabular-nums">
        <thead>
          <tr>
            <th className="pr-3 text-left">time</th>
            {series.map((s) => (
              <th key={s.label} className="pr-3 text-right">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([t, ...vs]) => (
            <tr key={t}>
              <td className="pr-3">{new Date(t * 1000).toLocaleTimeString()}</td>
              {vs.map((v, i) => (
                <td key={i} data-series={series[i]!.label} className="pr-3 text-right">
                  {v === null ? '' : Number.isInteger(v) ? v : v.toFixed(1)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** Per-function figures over a range: tiles, then invocations/errors/throttles and duration charts. */
export function FunctionMetrics({ f }: { f: FunctionInfo }) {
  const { client } = useSession();
  const [range, setRange] = useState<Range>('1h');
  const q = useQuery({ ...fnQueries.metrics(client, f.name, range), placeholderData: keepPreviousData });
  const data = useMemo(
    // The buckets end at the time the figures were read.
    () => (q.data ? chartData(q.data, METRICS_RANGES[q.data.range], q.dataUpdatedAt) : null),
    [q.data, q.dataUpdatedAt],
  );
  return (
    <Card title="Metrics" className="mb-4">
      <div className="mb-3 flex w-64 items-center gap-2 text-sm">
        <label htmlFor="fn-metrics-range">Range</label>
        <select
          id="fn-metrics-range"
          className={inputClass}
          value={range}
          onChange={(e) => setRange(e.target.value as Range)}
        >
          <option value="1h">last hour</option>
          <option value="24h">last 24 hours</option>
          <option value="7d">last 7 days</option>
        </select>
      </div>
      {q.isError && <ErrorLine className="mb-2 text-sm" message={errorText(q.error)} />}
      {q.data && data && (
        <>
          <dl data-testid="fn-metrics" className="mb-3 grid grid-cols-2 gap-3 text-sm md:grid-cols-4">
            {tiles(q.data).map(([k, v]) => (
              <div key={k} data-metric={k}>
                <dt className="text-xs text-slate-600 dark:text-slate-300">{k}</dt>
                <dd className="text-lg font-semibold tabular-nums">{v}</dd>
              </div>
            ))}
          </dl>
          <div className="grid grid-cols-1 gap-3 xl:grid-cols-2">
            <div data-testid="fn-chart-invocations">
              <Chart title="Invocations" series={COUNT_SERIES} data={data.counts} format={count} points />
              <DataTable name="Invocations" cols={data.counts} series={COUNT_SERIES} />
            </div>
            <div data-testid="fn-chart-duration">
              <Chart
                title="Duration"
                series={DURATION_SERIES}
                data={data.durations}
                format={formatMs}
                points
              />
              <DataTable name="Duration" cols={data.durations} series={DURATION_SERIES} />
            </div>
          </div>
        </>
      )}
    </Card>
  );
}
