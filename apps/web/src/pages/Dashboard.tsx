import { useQueries, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { Host, Vm } from '@hearth/contract';
import { useSession } from '../api/session.tsx';
import { hostQueries, imageQueries, vmQueries } from '../api/queries.ts';
import { Card, Empty, ErrorState, HostMeters, Loading, PageHeader, StateBadge } from '../components/ui.tsx';
import { formatAgo } from '../lib/format.ts';

const link = 'text-blue-700 underline dark:text-blue-300';

function Stat({ label, value, to }: { label: string; value: string; to: string }) {
  return (
    <Link
      to={to}
      className="block rounded-lg border border-slate-200 bg-white p-4 hover:border-blue-500 dark:border-slate-800 dark:bg-slate-900"
    >
      <p className="text-sm text-slate-600 dark:text-slate-300">{label}</p>
      <p className="mt-1 text-3xl font-semibold">{value}</p>
    </Link>
  );
}

/** Events of the most recently changed VMs: the API keeps events per VM. */
function RecentEvents({ vms }: { vms: Vm[] }) {
  const { client } = useSession();
  const recent = [...vms].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).slice(0, 5);
  const results = useQueries({ queries: recent.map((v) => vmQueries.events(client, v.id)) });
  if (results.some((r) => r.isPending)) return <Loading what="events" />;
  const names = new Map(vms.map((v) => [v.id, v.name]));
  const events = results
    .flatMap((r) => r.data ?? [])
    .sort((a, b) => b.seq - a.seq)
    .slice(0, 10);
  if (!events.length)
    return <Empty title="No events yet">Events appear as VMs are created and change state.</Empty>;
  return (
    <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
      {events.map((e) => (
        <li key={e.id} className="flex flex-wrap items-center gap-2 py-2">
          <Link className={link} to={`/vms/${e.vmId}/events`}>
            {names.get(e.vmId) ?? e.vmId}
          </Link>
          <span>{e.type === 'state' ? `${e.from ?? '∅'} → ${e.to}` : e.type}</span>
          {e.reason && <span className="text-slate-600 dark:text-slate-300">({e.reason})</span>}
          <span className="ml-auto text-xs text-slate-600 dark:text-slate-300">{formatAgo(e.at)}</span>
        </li>
      ))}
    </ul>
  );
}

function Attention({ vms, hosts }: { vms: Vm[]; hosts: Host[] }) {
  const failed = vms.filter((v) => v.state === 'failed');
  const offline = hosts.filter((h) => h.state !== 'ready');
  if (!failed.length && !offline.length) return <p className="text-sm">Nothing needs attention.</p>;
  return (
    <ul className="space-y-2 text-sm">
      {failed.map((v) => (
        <li key={v.id} className="flex flex-wrap items-center gap-2">
          <StateBadge state={v.state} />
          <Link className={link} to={`/vms/${v.id}`}>
            {v.name}
          </Link>
          <span className="text-slate-700 dark:text-slate-200">{v.stateReason}</span>
        </li>
      ))}
      {offline.map((h) => (
        <li key={h.id}>
          Host{' '}
          <Link className={link} to="/hosts">
            {h.name}
          </Link>{' '}
          is offline (last heartbeat {formatAgo(h.lastHeartbeatAt)}).
        </li>
      ))}
    </ul>
  );
}

export function Dashboard() {
  const { client } = useSession();
  const vms = useQuery(vmQueries.list(client));
  const hosts = useQuery(hostQueries.list(client));
  const images = useQuery(imageQueries.list(client));
  const failed = [vms, hosts, images].find((q) => q.isError);
  return (
    <>
      <PageHeader title="Dashboard" />
      {failed ? (
        <ErrorState error={failed.error} retry={() => void failed.refetch()} />
      ) : !vms.data || !hosts.data || !images.data ? (
        <Loading what="the dashboard" />
      ) : (
        <div className="space-y-4">
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-3">
            <Stat
              label="VMs running / total"
              value={`${vms.data.filter((v) => v.state === 'running').length} / ${vms.data.length}`}
              to="/vms"
            />
            <Stat
              label="Hosts ready / total"
              value={`${hosts.data.filter((h) => h.state === 'ready').length} / ${hosts.data.length}`}
              to="/hosts"
            />
            <Stat label="Images" value={String(images.data.length)} to="/images" />
          </div>
          <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
            <Card title="Needs attention">
              <Attention vms={vms.data} hosts={hosts.data} />
            </Card>
            <Card title="Host capacity">
              {hosts.data.length === 0 ? (
                <Empty title="No hosts">Start an agent (hearth up runs one) to run VMs.</Empty>
              ) : (
                <div className="space-y-4">
                  {hosts.data.map((h) => (
                    <div key={h.id} className="space-y-2">
                      <p className="text-sm font-medium">{h.name}</p>
                      <HostMeters host={h} />
                    </div>
                  ))}
                </div>
              )}
            </Card>
          </div>
          <Card title="Recent events">
            <RecentEvents vms={vms.data} />
          </Card>
        </div>
      )}
    </>
  );
}
