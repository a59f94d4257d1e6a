import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { actionRule, type Snapshot, type Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { snapshotKeys, snapshotQueries, vmKeys, volumeQueries } from '../../api/queries.ts';
import { keepNewest } from '../../api/stream-reducer.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { Field, inputClass } from '../../components/Field.tsx';
import {
  Button,
  Card,
  Empty,
  ErrorState,
  errorText,
  Loading,
  rowClass,
  linkClass,
  Table,
  Why,
} from '../../components/ui.tsx';
import { formatBytes, formatTime } from '../../lib/format.ts';
import { CloneButton, DeleteSnapshotButton } from '../snapshots/actions.tsx';

const SNAPSHOT_FROM: readonly Vm['state'][] = ['running', 'paused'];

function TakeSnapshot({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const take = useMutation({
    mutationFn: () =>
      client.call('createSnapshot', {
        params: { id: vm.id },
        body: name.trim() ? { name: name.trim() } : {},
      }),
    onSuccess: () => setName(''),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: snapshotKeys.all });
      void qc.invalidateQueries({ queryKey: vmKeys.events(vm.id) });
    },
  });
  const volumes = useQuery(volumeQueries.forVm(client, vm.id));
  const why = !SNAPSHOT_FROM.includes(vm.state)
    ? `The VM is ${vm.state}; snapshots are taken of running or paused VMs.`
    : volumes.data?.length
      ? 'Volumes are attached: snapshots of VMs with volumes are not supported yet; detach them (with the VM stopped) first.'
      : null;
  const fieldErrors = (take.error as { fields?: Record<string, string[]> } | null)?.fields?.name;
  return (
    <Card title="Take a snapshot">
      <form
        noValidate
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          take.mutate();
        }}
      >
        <div className="min-w-64 flex-1">
          <Field label="Snapshot name" hint="Optional; default <vm>-<time>." errors={fieldErrors}>
            {(a) => (
              <input
                {...a}
                className={inputClass}
                autoComplete="off"
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
        </div>
        <Button
          type="submit"
          variant="primary"
          disabled={!!why || take.isPending}
          aria-describedby="snap-why"
        >
          {take.isPending ? 'Taking snapshot…' : 'Take snapshot'}
        </Button>
      </form>
      <Why id="snap-why" reason={why} />
      <p className="mt-2 text-xs text-slate-600 dark:text-slate-300">
        Memory, device state and disk at one instant; the VM is paused for the moment it takes and then
        continues as it was.
      </p>
      {take.isError && !fieldErrors && (
        <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-300">
          {errorText(take.error)}
        </p>
      )}
    </Card>
  );
}

function RestoreButton({ vm, snap }: { vm: Vm; snap: Snapshot }) {
  const { client } = useSession();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const restore = useMutation({
    mutationFn: () => client.call('restoreVm', { params: { id: vm.id }, body: { snapshot: snap.id } }),
    onSuccess: (next) => qc.setQueryData(vmKeys.detail(vm.id), keepNewest(next)),
  });
  const allowed = actionRule('restore').from.includes(vm.state) && snap.state === 'ready';
  return (
    <>
      <Button
        aria-label={`Restore here ${snap.name}`}
        disabled={!allowed || restore.isPending}
        title={allowed ? undefined : `Not while the VM is ${vm.state}`}
        onClick={() => setOpen(true)}
      >
        Restore here
      </Button>
      {restore.isError && (
        <p role="alert" className="text-xs text-red-700 dark:text-red-300">
          {errorText(restore.error)}
        </p>
      )}
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`Restore ${vm.name} to ${snap.name}?`}
        confirmLabel="Restore"
        danger
        onConfirm={() => restore.mutate()}
      >
        The VM&apos;s current memory and disk are replaced by the snapshot&apos;s, taken{' '}
        {formatTime(snap.createdAt)}: whatever happened since is lost, and its processes carry on from that
        instant.
      </ConfirmDialog>
    </>
  );
}

export function SnapshotsTab({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const snaps = useQuery(snapshotQueries.forVm(client, vm.id));
  const all = useQuery(snapshotQueries.list(client));
  const nameOf = (id: string) => all.data?.find((s) => s.id === id)?.name ?? id;
  return (
    <div className="space-y-4">
      <TakeSnapshot vm={vm} />
      {snaps.isError ? (
        <ErrorState error={snaps.error} retry={() => void snaps.refetch()} />
      ) : snaps.isPending ? (
        <Loading what="snapshots" />
      ) : snaps.data.length === 0 ? (
        <Empty title="No snapshots of this VM yet" />
      ) : (
        <Table
          label="Snapshots of this VM"
          headers={['Name', 'State', 'Size', 'VMM', 'Created', 'Parent', 'Actions']}
        >
          {snaps.data.map((s) => (
            <tr key={s.id} className={rowClass} data-snapshot={s.name}>
              <td className="p-2 font-medium">{s.name}</td>
              <td className="p-2">{s.state}</td>
              <td className="p-2 whitespace-nowrap" data-testid="snapshot-size">
                {formatBytes(s.sizeBytes)}
              </td>
              <td className="p-2 whitespace-nowrap">
                {s.vmm} {s.vmmVersion} ({s.type})
              </td>
              <td className="p-2 whitespace-nowrap">{formatTime(s.createdAt)}</td>
              <td className="p-2">
                {s.parent ? (
                  <Link className={linkClass} to={`/snapshots#${s.parent}`}>
                    {nameOf(s.parent)}
                  </Link>
                ) : (
                  '—'
                )}
              </td>
              <td className="p-2">
                <div className="flex flex-wrap gap-2">
                  <RestoreButton vm={vm} snap={s} />
                  <CloneButton snap={s} />
                  <DeleteSnapshotButton snap={s} />
                </div>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </div>
  );
}
