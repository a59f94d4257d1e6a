import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { actionRule, type Snapshot, type Vm } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { useSession } from '../../api/session.tsx';
import { snapshotKeys, snapshotQueries, vmKeys, volumeQueries } from '../../api/queries.ts';
import { keepNewest } from '../../api/stream-reducer.ts';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { TextField } from '../../components/Field.tsx';
import {
  Card,
  Empty,
  ErrorLine,
  errorText,
  QueryView,
  rowClass,
  linkClass,
  Table,
  Why,
} from '../../components/ui.tsx';
import { formatBytes, formatTime } from '../../lib/format.ts';
import { CloneButton, DeleteSnapshotButton } from '../snapshots/actions.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';

const SNAPSHOT_FROM: readonly Vm['state'][] = ['running', 'paused'];
/** A disk-only snapshot copies a stopped VM's disks as they are. */
const DISK_SNAPSHOT_FROM: readonly Vm['state'][] = ['running', 'paused', 'stopped'];

function TakeSnapshot({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [diskOnly, setDiskOnly] = useState(false);
  // Firecracker keeps the record of changed memory a diff is made of; QEMU's snapshots are full.
  const [diff, setDiff] = useState(false);
  const canDiff = vm.vmm === 'firecracker';
  const take = useApiMutation({
    call: (c) =>
      c.call('createSnapshot', {
        params: { id: vm.id },
        body: {
          ...(name.trim() ? { name: name.trim() } : {}),
          kind: diskOnly ? 'disk' : 'memory',
          ...(canDiff && diff && !diskOnly ? { type: 'diff' as const } : {}),
        },
      }),
    invalidate: [snapshotKeys.all, vmKeys.events(vm.id)],
    onSuccess: () => setName(''),
  });
  const volumes = useQuery(volumeQueries.forVm(client, vm.id));
  const why = !(diskOnly ? DISK_SNAPSHOT_FROM : SNAPSHOT_FROM).includes(vm.state)
    ? `The VM is ${vm.state}; snapshots are taken of running or paused VMs${diskOnly ? ', disk-only ones of stopped VMs too' : ''}.`
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
          <TextField
            label="Snapshot name"
            hint="Optional; default <vm>-<time>."
            errors={fieldErrors}
            autoComplete="off"
            value={name}
            onChange={setName}
          />
        </div>
        <label className="flex items-center gap-2 pb-2 text-sm">
          <input type="checkbox" checked={diskOnly} onChange={(e) => setDiskOnly(e.target.checked)} />
          Disk only
        </label>
        {canDiff && (
          <label className="flex items-center gap-2 pb-2 text-sm">
            <input
              type="checkbox"
              checked={diff && !diskOnly}
              disabled={diskOnly}
              onChange={(e) => setDiff(e.target.checked)}
            />
            Diff (memory changed since the last snapshot)
          </label>
        )}
        <RoleButton
          route="createSnapshot"
          type="submit"
          variant="primary"
          disabled={!!why || take.isPending}
          aria-describedby="snap-why"
        >
          {take.isPending ? 'Taking snapshot…' : 'Take snapshot'}
        </RoleButton>
      </form>
      <Why id="snap-why" reason={why} />
      <p className="mt-2 text-xs text-slate-600 dark:text-slate-300">
        Memory, device state and disk at one instant; the VM is paused for the moment it takes and then
        continues as it was. Attached volumes are copied with it
        {volumes.data?.length ? ` (${volumes.data.length} attached)` : ''}. Disk only: the disks alone,
        written out by the guest first; restoring one boots the VM cold.
      </p>
      {!fieldErrors && <ErrorLine className="mt-2 text-sm" message={errorText(take.error)} />}
    </Card>
  );
}

function RestoreButton({ vm, snap }: { vm: Vm; snap: Snapshot }) {
  const qc = useQueryClient();
  const restore = useApiMutation({
    call: (client) => client.call('restoreVm', { params: { id: vm.id }, body: { snapshot: snap.id } }),
    onSuccess: (next) => qc.setQueryData(vmKeys.detail(vm.id), keepNewest(next)),
  });
  const allowed = actionRule('restore').from.includes(vm.state) && snap.state === 'ready';
  return (
    <ConfirmButton
      label="Restore here"
      button={{
        'aria-label': `Restore here ${snap.name}`,
        disabled: !allowed || restore.isPending,
        title: allowed ? undefined : `Not while the VM is ${vm.state}`,
      }}
      error={restore.error}
      title={`Restore ${vm.name} to ${snap.name}?`}
      confirmLabel="Restore"
      danger
      onConfirm={() => restore.mutate()}
    >
      {snap.kind === 'disk' ? (
        <>
          The VM&apos;s disks are replaced by the snapshot&apos;s, taken {formatTime(snap.createdAt)}:
          whatever was written since is lost. A running VM is stopped and boots cold from them; a stopped one
          stays stopped.
        </>
      ) : (
        <>
          The VM&apos;s current memory and disk are replaced by the snapshot&apos;s, taken{' '}
          {formatTime(snap.createdAt)}: whatever happened since is lost, and its processes carry on from that
          instant.
        </>
      )}
    </ConfirmButton>
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
      <QueryView query={snaps} what="snapshots" empty={<Empty title="No snapshots of this VM yet" />}>
        {(list) => (
          <Table
            label="Snapshots of this VM"
            headers={['Name', 'Kind', 'State', 'Size', 'VMM', 'Created', 'Parent', 'Actions']}
          >
            {list.map((s) => (
              <tr key={s.id} className={rowClass} data-snapshot={s.name}>
                <td className="p-2 font-medium">{s.name}</td>
                <td className="p-2">{s.type === 'diff' && s.base ? `diff on ${nameOf(s.base)}` : s.kind}</td>
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
      </QueryView>
    </div>
  );
}
