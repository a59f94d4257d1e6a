import { lazy, useState } from 'react';
import * as Tabs from '@radix-ui/react-tabs';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import type { Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { vmQueries } from '../../api/queries.ts';
import { canAct, useVmAction, VM_ACTION_ROUTE, type VmActionName } from '../../api/vm-actions.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { DetailError, DetailTabs } from '../../components/DetailPage.tsx';
import { Loading, PageHeader, StateBadge } from '../../components/ui.tsx';
import { ConfigTab, NetworkTab, OverviewTab, StorageTab } from './InfoTabs.tsx';
import { EventsTab } from './EventsTab.tsx';
import { SnapshotsTab } from './SnapshotsTab.tsx';
import { SaveTemplateButton } from './SaveTemplate.tsx';
import { MigrateButton } from './MigrateButton.tsx';

const TerminalTab = lazy(() => import('./TerminalTab.tsx'));
const MetricsTab = lazy(() => import('./MetricsTab.tsx'));

const TABS = [
  ['overview', 'Overview'],
  ['config', 'Config'],
  ['storage', 'Storage'],
  ['network', 'Network'],
  ['terminal', 'Terminal'],
  ['snapshots', 'Snapshots'],
  ['metrics', 'Metrics'],
  ['events', 'Events & logs'],
] as const;

const ACTIONS: { action: VmActionName; label: string; confirm?: string }[] = [
  { action: 'start', label: 'Start' },
  { action: 'pause', label: 'Pause' },
  { action: 'resume', label: 'Resume' },
  { action: 'restart', label: 'Restart', confirm: 'The guest shuts down and boots again.' },
  { action: 'stop', label: 'Stop', confirm: 'The guest is asked to shut down, and killed after 30 s.' },
  { action: 'delete', label: 'Delete', confirm: 'Its disk and records are removed for good.' },
];

function Actions({ vm }: { vm: Vm }) {
  const act = useVmAction();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState<(typeof ACTIONS)[number] | null>(null);
  const failed = act.data?.find((r) => r.error)?.error;
  const run = (action: VmActionName) =>
    act.mutate(
      { action, vms: [vm] },
      { onSuccess: (r) => action === 'delete' && !r[0]!.error && navigate('/vms') },
    );
  return (
    <div className="flex flex-wrap items-center gap-2">
      {ACTIONS.filter((a) => canAct(a.action, vm)).map((a) => (
        <RoleButton
          key={a.action}
          route={VM_ACTION_ROUTE[a.action]}
          variant={a.action === 'delete' ? 'danger' : 'secondary'}
          disabled={act.isPending}
          onClick={() => (a.confirm ? setConfirm(a) : run(a.action))}
        >
          {a.label}
        </RoleButton>
      ))}
      <SaveTemplateButton vm={vm} />
      <MigrateButton vm={vm} />
      {failed && (
        <p role="alert" className="w-full text-sm text-red-700 dark:text-red-300">
          {failed.message}
        </p>
      )}
      <ConfirmDialog
        open={confirm !== null}
        onOpenChange={(o) => !o && setConfirm(null)}
        title={`${confirm?.label ?? ''} ${vm.name}?`}
        confirmLabel={confirm?.label ?? 'OK'}
        danger={confirm?.action === 'delete'}
        onConfirm={() => confirm && run(confirm.action)}
      >
        {confirm?.confirm}
      </ConfirmDialog>
    </div>
  );
}

export default function VmDetail() {
  const { id = '', tab = 'overview' } = useParams();
  const { client } = useSession();
  const vm = useQuery(vmQueries.detail(client, id));
  if (vm.isError) {
    return (
      <DetailError
        title="VM"
        error={vm.error}
        retry={() => void vm.refetch()}
        back={{ to: '/vms', label: 'All VMs' }}
      />
    );
  }
  if (vm.isPending) return <Loading what="the VM" />;
  const v = vm.data;
  return (
    <>
      <PageHeader
        title={
          <span className="flex items-center gap-3">
            {v.name} <StateBadge state={v.state} />
          </span>
        }
        actions={<Actions vm={v} />}
      />
      {v.state === 'failed' && v.stateReason && (
        <p
          role="alert"
          className="mb-3 rounded-md bg-red-50 p-3 text-sm text-red-900 dark:bg-red-950 dark:text-red-100"
        >
          Failed: {v.stateReason}
        </p>
      )}
      {v.state === 'pooled' && (
        <p
          role="status"
          className="mb-3 rounded-md bg-violet-50 p-3 text-sm text-violet-950 dark:bg-violet-950 dark:text-violet-100"
        >
          Waiting in warm pool{' '}
          <Link className="underline" to="/pools">
            {v.pool ?? '(unknown)'}
          </Link>
          : booted ahead of time, it becomes someone&apos;s VM (with their name, credentials and env) when a
          create asks for this pool.
        </p>
      )}
      <DetailTabs label="VM sections" base={`/vms/${v.id}`} tab={tab} tabs={TABS}>
        <Tabs.Content value="overview">
          <OverviewTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="config">
          <ConfigTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="storage">
          <StorageTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="network">
          <NetworkTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="terminal">
          <TerminalTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="snapshots">
          <SnapshotsTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="metrics">
          <MetricsTab vm={v} />
        </Tabs.Content>
        <Tabs.Content value="events">
          <EventsTab vm={v} />
        </Tabs.Content>
      </DetailTabs>
    </>
  );
}
