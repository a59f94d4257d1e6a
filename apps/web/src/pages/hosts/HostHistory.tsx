import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type uPlot from 'uplot';
import type { HostHistoryPoint } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { formatBytes } from '../../lib/format.ts';
import { CPU_CHART, ChartGrid, twoSeries, type ChartSpec } from '../vm/Chart.tsx';

const CHARTS: ChartSpec<'cpu' | 'mem' | 'alloc'>[] = [
  CPU_CHART,
  {
    key: 'mem',
    title: 'Memory',
    series: twoSeries('used', 'total', ['#16a34a', '#94a3b8']),
    format: formatBytes,
  },
  {
    key: 'alloc',
    title: 'Memory allocated to VMs',
    series: twoSeries('allocated', 'total', ['#0891b2', '#94a3b8']),
    format: formatBytes,
  },
];

/**
 * A host's last 24 h as the manager kept them (minute averages, then the last hour at 10 s),
 * loaded when opened and refreshed every 10 s while open.
 */
export function HostHistory({ hostId }: { hostId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="text-sm" onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary className="cursor-pointer">Last 24 hours</summary>
      {open && <Charts hostId={hostId} />}
    </details>
  );
}

function Charts({ hostId }: { hostId: string }) {
  const { client } = useSession();
  const q = useQuery({
    queryKey: ['hostHistory', hostId],
    refetchInterval: 10_000,
    queryFn: async () => {
      const params = { id: hostId };
      const [day, hour] = await Promise.all([
        client.call('hostMetricsHistory', { params, query: { range: '24h' } }),
        client.call('hostMetricsHistory', { params, query: { range: '1h' } }),
      ]);
      const from = hour.points[0] ? Date.parse(hour.points[0].at) : Infinity;
      return [...day.points.filter((p) => Date.parse(p.at) < from), ...hour.points];
    },
  });
  const points = q.data ?? [];
  if (q.isError) return <p role="alert">Loading the history failed: {(q.error as Error).message}</p>;
  if (!points.length) return <p role="status">{q.isPending ? 'Loading…' : 'No samples kept yet.'}</p>;
  const col = (f: (p: HostHistoryPoint) => number | null) => points.map(f);
  const t = col((p) => Date.parse(p.at) / 1000);
  const data = {
    cpu: [t, col((p) => p.cpuPercent)] as uPlot.AlignedData,
    mem: [t, col((p) => p.memUsedBytes), col((p) => p.memTotalBytes)] as uPlot.AlignedData,
    alloc: [t, col((p) => p.allocatedMemoryBytes), col((p) => p.memTotalBytes)] as uPlot.AlignedData,
  };
  return (
    <div className="mt-2 space-y-2">
      <p role="status">{points.length} samples kept</p>
      <ChartGrid charts={CHARTS} data={data} />
    </div>
  );
}
