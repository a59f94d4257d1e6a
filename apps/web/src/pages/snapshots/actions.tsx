import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import type { Snapshot } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { snapshotKeys, vmKeys } from '../../api/queries.ts';
import { keepNewest } from '../../api/stream-reducer.ts';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { errorText } from '../../components/ui.tsx';
import { formatBytes } from '../../lib/format.ts';
import { RoleButton } from '../../components/RoleButton.tsx';

/** Clone: a new VM from the snapshot (its own name, MAC and address); the page moves to it. */
export function CloneButton({ snap }: { snap: Snapshot }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const clone = useApiMutation({
    call: (client) =>
      client.call('cloneSnapshot', {
        params: { id: snap.id },
        body: name.trim() ? { name: name.trim() } : {},
      }),
    invalidate: [snapshotKeys.all],
    onSuccess: (vm) => {
      qc.setQueryData(vmKeys.detail(vm.id), keepNewest(vm));
      setOpen(false);
      navigate(`/vms/${vm.id}`);
    },
  });
  return (
    <>
      <RoleButton
        route="cloneSnapshot"
        disabled={snap.state !== 'ready'}
        aria-label={`Clone ${snap.name}`}
        onClick={() => {
          clone.reset();
          setOpen(true);
        }}
      >
        Clone
      </RoleButton>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Clone ${snap.name}`}
        description={
          snap.kind === 'disk'
            ? `A new VM on the snapshot's host that boots cold from a copy of its disk (${formatBytes(snap.sizeBytes)}), with its own name, MAC and address.`
            : `A new VM on the snapshot's host with its memory and disk (${formatBytes(snap.sizeBytes)}), its own name, MAC and address. It starts running from the instant the snapshot was taken.`
        }
        submitLabel="Clone"
        pending={clone.isPending}
        error={errorText(clone.error)}
        onSubmit={() => clone.mutate()}
      >
        <TextField
          label="Name of the new VM"
          hint="Left empty, the API picks one."
          autoComplete="off"
          value={name}
          onChange={setName}
        />
      </FormDialog>
    </>
  );
}

/** Delete with confirmation; clones are independent and stay. */
export function DeleteSnapshotButton({ snap }: { snap: Snapshot }) {
  const del = useApiMutation({
    call: (client) => client.call('deleteSnapshot', { params: { id: snap.id } }),
    invalidate: [snapshotKeys.all],
  });
  return (
    <ConfirmButton
      label="Delete"
      button={{ variant: 'danger', 'aria-label': `Delete ${snap.name}`, disabled: del.isPending }}
      error={del.error}
      title={`Delete snapshot ${snap.name}?`}
      confirmLabel="Delete"
      danger
      onConfirm={() => del.mutate()}
    >
      Its memory state and disk copy ({formatBytes(snap.sizeBytes)}) are removed from the host. VMs cloned
      from it are independent and keep running.
    </ConfirmButton>
  );
}
