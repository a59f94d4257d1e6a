import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatBytes } from '../../lib/format.ts';

export interface Series {
  label: string;
  color: string;
}

/** A uPlot time series that follows its container's width and takes new data without re-creating. */
export function Chart({
  title,
  series,
  data,
  format,
  points = false,
}: {
  title: string;
  series: Series[];
  data: uPlot.AlignedData;
  format: (n: number) => string;
  /** Marks each value (sparse data: a lone bucket between empty ones draws no line). */
  points?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const axis = { stroke: '#64748b', grid: { stroke: '#64748b33' } };
    plot.current = new uPlot(
      {
        width: el.clientWidth,
        height: 180,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 70, values: (_u, ticks) => ticks.map(format) }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(points ? { points: { show: true, size: 5 } } : {}),
            value: (_u: uPlot, v: number | null) => (v == null ? '—' : format(v)),
          })),
        ],
      },
      [[], ...series.map(() => [])],
      el,
    );
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 180 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Series and format are fixed per chart; only data changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => plot.current?.setData(data), [data]);

  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
      <figcaption className="mb-1 text-sm font-medium">{title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

export const pct = (n: number) => `${n.toFixed(0)}%`;
export const rate = (n: number) => `${formatBytes(n)}/s`;

/** Two series: the first in `color`, the second (a total or limit, or the other direction) in its own. */
export const twoSeries = (a: string, b: string, colors: [string, string]): Series[] => [
  { label: a, color: colors[0] },
  { label: b, color: colors[1] },
];

/** One chart of a grid: its title, series and value format; `key` names its data. */
export interface ChartSpec<K extends string> {
  key: K;
  title: string;
  series: Series[];
  format(n: number): string;
}

export const CPU_CHART: ChartSpec<'cpu'> = {
  key: 'cpu',
  title: 'CPU',
  series: [{ label: 'CPU', color: '#2563eb' }],
  format: pct,
};

export const NETWORK_CHART: ChartSpec<'net'> = {
  key: 'net',
  title: 'Network',
  series: twoSeries('received', 'sent', ['#9333ea', '#ea580c']),
  format: rate,
};

/** The VM metrics and container stats charts: one column, two on wide screens. */
export function ChartGrid<K extends string>({
  charts,
  data,
}: {
  charts: readonly ChartSpec<K>[];
  data: Record<K, uPlot.AlignedData>;
}) {
  return (
    <div className="grid grid-cols-1 gap-3 xl:grid-cols-2">
      {charts.map((c) => (
        <Chart key={c.key} title={c.title} series={c.series} data={data[c.key]} format={c.format} />
      ))}
    </div>
  );
}
