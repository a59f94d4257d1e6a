import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import type uPlot from 'uplot';
import type { Container, ContainerStats } from '@hearth/contract';
import { containerKeys } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { Empty, ErrorState } from '../../components/ui.tsx';
import { formatBytes } from '../../lib/format.ts';
import { ChartGrid, CPU_CHART, NETWORK_CHART, pct, rate, twoSeries, type ChartSpec } from '../vm/Chart.tsx';
import { addStats, type StatsSample } from './stats-history.ts';

/** History survives switching tabs (not reloads): kept per container for this page's lifetime. */
const histories = new Map<
  string,
  { samples: StatsSample[]; last: ContainerStats | null; now: ContainerStats | null }
>();

const CHARTS: ChartSpec<'cpu' | 'mem' | 'net' | 'disk'>[] = [
  CPU_CHART,
  {
    key: 'mem',
    title: 'Memory',
    series: twoSeries('used', 'limit', ['#16a34a', '#94a3b8']),
    format: formatBytes,
  },
  NETWORK_CHART,
  {
    key: 'disk',
    title: 'Disk I/O',
    series: twoSeries('read', 'written', ['#0891b2', '#db2777']),
    format: rate,
  },
];

/** CPU, memory, network and disk of the container, asked every 2 s, in the VM metrics tab's charts. */
export default function StatsTab({ c }: { c: Container }) {
  const { client } = useSession();
  const running = c.state === 'running';
  // Each answer is added to the history as it arrives; the query's data is the history.
  const stats = useQuery({
    queryKey: containerKeys.stats(c.id),
    queryFn: async () => {
      const s = await client.call('containerStats', { params: { id: c.id } });
      const h = histories.get(c.id) ?? { samples: [], last: null };
      const samples = addStats(h.samples, s, h.last);
      // An answer already counted (asked again before the guest measured anew) changes nothing.
      const next = samples === h.samples ? { ...h, now: s } : { samples, last: s, now: s };
      histories.set(c.id, next);
      return next;
    },
    enabled: running,
    refetchInterval: 2000,
    retry: false,
  });
  const state = stats.data ?? histories.get(c.id) ?? { samples: [], last: null, now: null };
  const data = useMemo(() => {
    const col = (f: (s: StatsSample) => number | null) => state.samples.map(f);
    const t = col((s) => s.t) as number[];
    return {
      cpu: [t, col((s) => s.cpu)] as uPlot.AlignedData,
      mem: [t, col((s) => s.mem), col((s) => s.memLimit)] as uPlot.AlignedData,
      net: [t, col((s) => s.rx), col((s) => s.tx)] as uPlot.AlignedData,
      disk: [t, col((s) => s.read), col((s) => s.write)] as uPlot.AlignedData,
    };
  }, [state.samples]);
  if (!running && state.samples.length === 0)
    return <Empty title="No stats">Usage is measured while the container is running.</Empty>;
  const now = running ? state.now : null;
  return (
    <div className="space-y-3">
      {stats.isError && <ErrorState error={stats.error} retry={() => void stats.refetch()} />}
      <p role="status" className="text-sm text-slate-600 dark:text-slate-300" data-testid="stats-status">
        {now
          ? `Now: CPU ${now.cpuPercent === null ? '—' : pct(now.cpuPercent)}, memory ${now.memoryBytes === null ? '—' : formatBytes(now.memoryBytes)}${now.memoryLimitBytes ? ` of ${formatBytes(now.memoryLimitBytes)}` : ''}${now.pids === null ? '' : `, ${now.pids} processes`} · ${state.samples.length} samples, every 2 s (kept while this page is open)`
          : running
            ? 'Waiting for the first sample…'
            : 'Not running: the history so far.'}
      </p>
      <ChartGrid charts={CHARTS} data={data} />
    </div>
  );
}
