import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import type { Snapshot } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { snapshotKeys, vmKeys } from '../../api/queries.ts';
import { keepNewest } from '../../api/stream-reducer.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { Field, inputClass } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { Button, errorText } from '../../components/ui.tsx';
import { formatBytes } from '../../lib/format.ts';

/** Clone: a new VM from the snapshot (its own name, MAC and address); the page moves to it. */
export function CloneButton({ snap }: { snap: Snapshot }) {
  const { client } = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const clone = useMutation({
    mutationFn: () =>
      client.call('cloneSnapshot', {
        params: { id: snap.id },
        body: name.trim() ? { name: name.trim() } : {},
      }),
    onSuccess: (vm) => {
      qc.setQueryData(vmKeys.detail(vm.id), keepNewest(vm));
      void qc.invalidateQueries({ queryKey: snapshotKeys.all });
      setOpen(false);
      navigate(`/vms/${vm.id}`);
    },
  });
  return (
    <>
      <Button
        disabled={snap.state !== 'ready'}
        aria-label={`Clone ${snap.name}`}
        onClick={() => {
          clone.reset();
          setOpen(true);
        }}
      >
        Clone
      </Button>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Clone ${snap.name}`}
        description={`A new VM on the snapshot's host with its memory and disk (${formatBytes(snap.sizeBytes)}), its own name, MAC and address. It starts running from the instant the snapshot was taken.`}
        submitLabel="Clone"
        pending={clone.isPending}
        error={errorText(clone.error)}
        onSubmit={() => clone.mutate()}
      >
        <Field label="Name of the new VM" hint="Left empty, the API picks one.">
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
      </FormDialog>
    </>
  );
}

/** Delete with confirmation; clones are independent and stay. */
export function DeleteSnapshotButton({ snap }: { snap: Snapshot }) {
  const { client } = useSession();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const del = useMutation({
    mutationFn: () => client.call('deleteSnapshot', { params: { id: snap.id } }),
    onSettled: () => qc.invalidateQueries({ queryKey: snapshotKeys.all }),
  });
  return (
    <>
      <Button
        variant="danger"
        aria-label={`Delete ${snap.name}`}
        disabled={del.isPending}
        onClick={() => setOpen(true)}
      >
        Delete
      </Button>
      {del.isError && (
        <p role="alert" className="text-xs text-red-700 dark:text-red-300">
          {errorText(del.error)}
        </p>
      )}
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={`Delete snapshot ${snap.name}?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => del.mutate()}
      >
        Its memory state and disk copy ({formatBytes(snap.sizeBytes)}) are removed from the host. VMs cloned
        from it are independent and keep running.
      </ConfirmDialog>
    </>
  );
}
