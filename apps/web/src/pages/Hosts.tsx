import { useQuery } from '@tanstack/react-query';
import { useSession } from '../api/session.tsx';
import { hostQueries } from '../api/queries.ts';
import { Card, Detail, Empty, HostMeters, PageHeader, QueryView } from '../components/ui.tsx';
import { formatAgo, formatMib } from '../lib/format.ts';
import { HostHistory } from './hosts/HostHistory.tsx';
import { placementItems } from './hosts/placement-items.tsx';
import { HostActions } from './hosts/HostActions.tsx';
import { DrainButton } from './hosts/DrainButton.tsx';

export function Hosts() {
  const { client } = useSession();
  const hosts = useQuery(hostQueries.list(client));
  return (
    <>
      <PageHeader title="Hosts" />
      <QueryView
        query={hosts}
        what="hosts"
        empty={
          <Empty title="No hosts have joined">
            Run <code>hearth up</code> for a local host, or{' '}
            <code>hearth agent --manager URL --join-token T</code> on another machine.
          </Empty>
        }
      >
        {(list) => (
          <div className="grid grid-cols-1 gap-4 xl:grid-cols-2">
            {list.map((h) => (
              <Card
                key={h.id}
                title={
                  <>
                    {h.name}{' '}
                    <span
                      className={`ml-2 text-sm font-normal ${h.state === 'ready' ? 'text-green-700 dark:text-green-300' : 'text-red-700 dark:text-red-300'}`}
                    >
                      {h.state}
                      {h.cordoned ? ', cordoned' : ''}
                    </span>
                  </>
                }
              >
                <div className="space-y-3">
                  <HostMeters host={h} />
                  <HostActions host={h} />
                  <Detail
                    items={[
                      ['VMs', h.vmCount],
                      ['Address', h.url],
                      ['Kernel', `${h.inventory.kernel} (${h.inventory.arch})`],
                      ['Free disk', formatMib(h.inventory.diskFreeMib)],
                      ...placementItems(h),
                      ['Last heartbeat', formatAgo(h.lastHeartbeatAt)],
                      [
                        'VMMs',
                        <ul key="vmms">
                          {h.inventory.vmms.map((v) => (
                            <li key={v.kind}>
                              {v.kind}:{' '}
                              {v.available
                                ? `available (${v.accel}${v.version ? `, ${v.version}` : ''})`
                                : 'unavailable'}
                              {v.reason && (
                                <span className="text-slate-600 dark:text-slate-300"> — {v.reason}</span>
                              )}
                            </li>
                          ))}
                        </ul>,
                      ],
                    ]}
                  />
                  <DrainButton host={h} />
                  <HostHistory hostId={h.id} />
                  {h.inventory.checks.length > 0 && (
                    <details className="text-sm">
                      <summary className="cursor-pointer">Host checks</summary>
                      <ul className="mt-2 space-y-1">
                        {h.inventory.checks.map((c) => (
                          <li key={c.name}>
                            {c.ok ? '✓' : '✗'} {c.name}: {c.detail}
                          </li>
                        ))}
                      </ul>
                    </details>
                  )}
                </div>
              </Card>
            ))}
          </div>
        )}
      </QueryView>
    </>
  );
}
