import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { SnapshotSchedule } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { scheduleKeys, scheduleQueries, vmQueries } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Empty, ErrorLine, errorText, linkClass, QueryView, rowClass, Table } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';
import { CreateScheduleDialog, EditScheduleDialog } from './schedule-form.tsx';

const keepText = (r: SnapshotSchedule['retention']) =>
  [r.count !== undefined ? `${r.count} newest` : '', r.maxAge ? `≤ ${r.maxAge}` : '']
    .filter(Boolean)
    .join(', ');

function ToggleButton({ schedule: s }: { schedule: SnapshotSchedule }) {
  const toggle = useApiMutation({
    call: (c) => c.call(s.enabled ? 'disableSchedule' : 'enableSchedule', { params: { id: s.id } }),
    invalidate: [scheduleKeys.all],
  });
  return (
    <>
      <RoleButton
        route={s.enabled ? 'disableSchedule' : 'enableSchedule'}
        aria-label={`${s.enabled ? 'Disable' : 'Enable'} ${s.name}`}
        disabled={toggle.isPending}
        onClick={() => toggle.mutate()}
      >
        {s.enabled ? 'Disable' : 'Enable'}
      </RoleButton>
      <ErrorLine message={errorText(toggle.error)} />
    </>
  );
}

function EditButton({ schedule: s }: { schedule: SnapshotSchedule }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <RoleButton route="updateSchedule" aria-label={`Edit ${s.name}`} onClick={() => setOpen(true)}>
        Edit
      </RoleButton>
      {open && <EditScheduleDialog schedule={s} open={open} onOpenChange={setOpen} />}
    </>
  );
}

function DeleteScheduleButton({ schedule: s }: { schedule: SnapshotSchedule }) {
  const del = useApiMutation({
    call: (c) => c.call('deleteSchedule', { params: { id: s.id } }),
    invalidate: [scheduleKeys.all],
  });
  return (
    <ConfirmButton
      label="Delete"
      button={{ variant: 'danger', 'aria-label': `Delete ${s.name}`, disabled: del.isPending }}
      error={del.error}
      title={`Delete schedule ${s.name}?`}
      confirmLabel="Delete"
      danger
      onConfirm={() => del.mutate()}
    >
      It takes no more snapshots; the snapshots it took stay until you delete them.
    </ConfirmButton>
  );
}

/** The project's snapshot schedules: when each runs next, how its last run went, and its controls. */
export function Schedules() {
  const { client } = useSession();
  const schedules = useQuery(scheduleQueries.list(client));
  const vms = useQuery(vmQueries.list(client));
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="schedules-title" className="mt-8">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-3">
        <h2 id="schedules-title" className="text-xl font-semibold">
          Schedules
        </h2>
        <RoleButton route="createSchedule" variant="primary" onClick={() => setCreating(true)}>
          New schedule
        </RoleButton>
      </div>
      {creating && <CreateScheduleDialog open={creating} onOpenChange={setCreating} />}
      <QueryView
        query={schedules}
        what="schedules"
        empty={
          <Empty title="No snapshot schedules">Snapshot a VM every night, keeping the last seven.</Empty>
        }
      >
        {(list) => (
          <Table
            label="Snapshot schedules"
            headers={[
              'Name',
              'Target',
              'Cron',
              'Kind',
              'Keep',
              'Next run',
              'Last run',
              'Last error',
              'Actions',
            ]}
          >
            {list.map((s) => {
              const vm = s.vm ? vms.data?.find((v) => v.id === s.vm) : undefined;
              return (
                <tr key={s.id} className={rowClass} data-schedule={s.name}>
                  <td className="p-2 font-medium">{s.name}</td>
                  <td className="p-2">
                    {s.vm ? (
                      <Link className={linkClass} to={`/vms/${s.vm}/snapshots`}>
                        {vm?.name ?? s.vm}
                      </Link>
                    ) : (
                      // Sorted: the database keeps labels in its own key order.
                      Object.entries(s.selector ?? {})
                        .sort(([a], [b]) => a.localeCompare(b))
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')
                    )}
                  </td>
                  <td className="p-2 font-mono whitespace-nowrap">{s.cron}</td>
                  <td className="p-2">{s.memory ? 'memory' : 'disk'}</td>
                  <td className="p-2 whitespace-nowrap">{keepText(s.retention)}</td>
                  <td className="p-2 whitespace-nowrap" data-testid="schedule-next">
                    {s.enabled ? (s.nextRunAt ? formatTime(s.nextRunAt) : '—') : 'disabled'}
                  </td>
                  <td className="p-2 whitespace-nowrap" data-testid="schedule-last">
                    {s.lastRunAt ? formatTime(s.lastRunAt) : '—'}
                  </td>
                  <td
                    className={`p-2 ${s.lastError ? 'text-red-700 dark:text-red-300' : ''}`}
                    data-testid="schedule-error"
                  >
                    {s.lastError ?? '—'}
                  </td>
                  <td className="p-2">
                    <div className="flex flex-wrap gap-2">
                      <EditButton schedule={s} />
                      <ToggleButton schedule={s} />
                      <DeleteScheduleButton schedule={s} />
                    </div>
                  </td>
                </tr>
              );
            })}
          </Table>
        )}
      </QueryView>
    </section>
  );
}
