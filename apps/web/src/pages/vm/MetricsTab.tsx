import { useEffect, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import type { VmMetrics, Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { Empty } from '../../components/ui.tsx';
import { formatBytes } from '../../lib/format.ts';
import { ChartGrid, CPU_CHART, NETWORK_CHART, twoSeries, type ChartSpec } from './Chart.tsx';
import { addSample, fromHistory, withHistory, type Sample } from './metrics-history.ts';

/** History survives switching tabs (not reloads): it is kept per VM for this page's lifetime. */
const histories = new Map<string, { samples: Sample[]; last: VmMetrics | null }>();
const keptHistories = new Map<string, Sample[]>();

function useMetricsStream(vm: Vm) {
  const { client } = useSession();
  const [state, setState] = useState(() => histories.get(vm.id) ?? { samples: [], last: null });
  const [error, setError] = useState<string | null>(null);
  const running = vm.state === 'running';
  // What the manager kept (the last 24 h), loaded on open: the charts start with the day, even
  // when no page was open, and the stream continues from there.
  const [kept, setKept] = useState<Sample[]>(() => keptHistories.get(vm.id) ?? []);
  useEffect(() => {
    let gone = false;
    const id = { id: vm.id };
    void Promise.all([
      client.call('vmMetricsHistory', { params: id, query: { range: '24h' } }),
      client.call('vmMetricsHistory', { params: id, query: { range: '1h' } }),
    ]).then(
      ([day, hour]) => {
        if (gone) return;
        const samples = fromHistory(day, hour);
        keptHistories.set(vm.id, samples);
        setKept(samples);
      },
      () => undefined,
    );
    return () => {
      gone = true;
    };
  }, [client, vm.id]);
  useEffect(() => {
    if (!running) return;
    let ws: WebSocket | null = null;
    let closed = false;
    // The session cookie goes along by itself; a token sign-in gets a single-use ticket first.
    void client.connectUrl('vmMetricsStream', { params: { id: vm.id }, query: { interval: 2 } }).then(
      (url) => {
        if (!closed) listen((ws = new WebSocket(url)));
      },
      (e: Error) => setError(e.message),
    );
    const listen = (ws: WebSocket) => {
      ws.onmessage = (m: MessageEvent<string>) => {
        const msg = JSON.parse(m.data) as VmMetrics | { type: 'error'; message: string };
        if ('type' in msg) return setError(msg.message);
        setError(null);
        setState((s) => {
          const next = { samples: addSample(s.samples, msg, s.last), last: msg };
          histories.set(vm.id, next);
          return next;
        });
      };
      ws.onerror = () => setError('The metrics stream failed; it reconnects when you come back to this tab.');
    };
    return () => {
      closed = true;
      ws?.close();
    };
  }, [client, vm.id, running]);
  const samples = useMemo(() => withHistory(kept, state.samples), [kept, state.samples]);
  return { samples, live: state.samples.length, error };
}

const CHARTS: ChartSpec<'cpu' | 'mem' | 'net' | 'disk'>[] = [
  CPU_CHART,
  {
    key: 'mem',
    title: 'Memory',
    series: twoSeries('used', 'total', ['#16a34a', '#94a3b8']),
    format: formatBytes,
  },
  NETWORK_CHART,
  {
    key: 'disk',
    title: 'Root disk',
    series: twoSeries('used', 'total', ['#0891b2', '#94a3b8']),
    format: formatBytes,
  },
];

export default function MetricsTab({ vm }: { vm: Vm }) {
  const { samples, live, error } = useMetricsStream(vm);
  const data = useMemo(() => {
    const col = (f: (s: Sample) => number | null) => samples.map(f);
    const t = col((s) => s.t) as number[];
    return {
      cpu: [t, col((s) => s.cpu)] as uPlot.AlignedData,
      mem: [t, col((s) => s.memUsed), col((s) => s.memTotal)] as uPlot.AlignedData,
      net: [t, col((s) => s.rx), col((s) => s.tx)] as uPlot.AlignedData,
      disk: [t, col((s) => s.diskUsed), col((s) => s.diskTotal)] as uPlot.AlignedData,
    };
  }, [samples]);
  if (vm.state !== 'running' && samples.length === 0) {
    return <Empty title="No metrics">The guest agent reports metrics while the VM is running.</Empty>;
  }
  return (
    <div className="space-y-3">
      <p role="status" className="text-sm text-slate-600 dark:text-slate-300">
        {error ??
          (samples.length
            ? `${samples.length - live} kept samples (last 24 h), then ${
                vm.state === 'running' ? `${live} live, every 2 s` : 'live ones while the VM runs'
              }`
            : 'Waiting for the first sample…')}
      </p>
      <ChartGrid charts={CHARTS} data={data} />
    </div>
  );
}
