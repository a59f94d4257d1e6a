import { lazy } from 'react';
import * as Tabs from '@radix-ui/react-tabs';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import type { Container } from '@hearth/contract';
import { containerQueries, vmQueries } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { Progress } from '../../components/Progress.tsx';
import { DetailError, DetailTabs } from '../../components/DetailPage.tsx';
import { Card, Detail, linkClass, Loading, PageHeader, StateBadge } from '../../components/ui.tsx';
import { formatMib } from '../../lib/format.ts';
import { ContainerActions } from './Actions.tsx';
import { ContainerBadge } from './Badge.tsx';
import { EventsTab, InspectTab } from './EventsTab.tsx';
import LogsTab from './LogsTab.tsx';
import { portsText, refreshEvery, uptimeText } from './status.ts';
import { useNow } from './use-now.ts';

// The charts and the terminal load on first use (uPlot, xterm.js), as on the VM page.
const StatsTab = lazy(() => import('./StatsTab.tsx'));
const ExecTab = lazy(() => import('./ExecTab.tsx'));

const TABS = [
  ['logs', 'Logs'],
  ['stats', 'Stats'],
  ['exec', 'Exec'],
  ['events', 'Events'],
  ['inspect', 'Inspect'],
] as const;

/** The container's microVM, by name with its state (kept live by the event stream), linked. */
function VmLink({ id }: { id: string | null }) {
  const { client } = useSession();
  const vm = useQuery({ ...vmQueries.detail(client, id ?? ''), enabled: id !== null });
  if (!id) return <>none yet</>;
  return (
    <span className="inline-flex items-center gap-2">
      <Link className={linkClass} to={`/vms/${id}`} data-testid="container-vm">
        {vm.data?.name ?? id}
      </Link>
      {vm.data && <StateBadge state={vm.data.state} />}
    </span>
  );
}

function Summary({ c }: { c: Container }) {
  const now = useNow(c.state === 'running' || c.state === 'paused');
  return (
    <Card className="mb-4">
      <div className="grid gap-2 md:grid-cols-2">
        <Detail
          items={[
            [
              'Image',
              <code key="i">
                {c.image}
                {c.imageDigest ? ` (${c.imageDigest.slice(0, 19)}…)` : ''}
              </code>,
            ],
            ['Health', c.health ?? (c.healthcheck ? '—' : 'no health check')],
            ['Exit code', c.exitCode === null ? '—' : String(c.exitCode)],
            ['Uptime', uptimeText(c, now)],
            ['Restarts', `${c.restarts} (restart policy: ${c.restart})`],
          ]}
        />
        <Detail
          items={[
            ['Ports', portsText(c.ports)],
            ['Size', `${c.vcpus} vCPU · ${formatMib(c.memoryMib)}`],
            ['IP address', c.ip],
            ['VM', <VmLink key="vm" id={c.vm} />],
          ]}
        />
      </div>
    </Card>
  );
}

export default function ContainerDetail() {
  const { id = '', tab = 'logs' } = useParams();
  const { client } = useSession();
  const navigate = useNavigate();
  const q = useQuery({ ...containerQueries.detail(client, id), refetchInterval: refreshEvery });
  if (q.isError) {
    return (
      <DetailError
        title="Container"
        error={q.error}
        retry={() => void q.refetch()}
        back={{ to: '/containers', label: 'All containers' }}
      />
    );
  }
  if (q.isPending) return <Loading what="the container" />;
  const c = q.data;
  return (
    <>
      <PageHeader
        title={
          <span className="flex items-center gap-3">
            {c.name} <ContainerBadge c={c} />
          </span>
        }
        actions={<ContainerActions c={c} onRemoved={() => void navigate('/containers')} />}
      />
      {c.state === 'pulling' && (
        <div className="mb-3">
          <Progress
            label={`Pulling ${c.image}${c.pull ? `: ${c.pull.message}` : ''}`}
            value={c.pull?.percent ?? null}
          />
        </div>
      )}
      {c.stateReason && (c.state === 'exited' || c.state === 'failed') && (
        <p
          role="alert"
          data-testid="container-reason"
          className="mb-3 rounded-md bg-red-50 p-3 text-sm whitespace-pre-wrap text-red-900 dark:bg-red-950 dark:text-red-100"
        >
          {c.state === 'failed' ? 'Failed' : 'Exited'}: {c.stateReason}
        </p>
      )}
      <Summary c={c} />
      <DetailTabs label="Container sections" base={`/containers/${id}`} tab={tab} tabs={TABS}>
        <Tabs.Content value="logs">
          <LogsTab c={c} />
        </Tabs.Content>
        <Tabs.Content value="stats">
          <StatsTab c={c} />
        </Tabs.Content>
        <Tabs.Content value="exec">
          <ExecTab c={c} />
        </Tabs.Content>
        <Tabs.Content value="events">
          <EventsTab c={c} />
        </Tabs.Content>
        <Tabs.Content value="inspect">
          <InspectTab c={c} />
        </Tabs.Content>
      </DetailTabs>
    </>
  );
}
