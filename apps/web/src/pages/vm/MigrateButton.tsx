import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { Vm } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { hostQueries, vmKeys } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { SelectField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { errorText } from '../../components/ui.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';

/**
 * Moves the VM to another host (live when running on QEMU, by snapshot on Firecracker, cold when
 * stopped); progress shows in its events, the result as a line under the actions (docs/migration.md).
 */
export function MigrateButton({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const [open, setOpen] = useState(false);
  const [to, setTo] = useState('');
  const hosts = useQuery({ ...hostQueries.list(client), enabled: open });
  const move = useApiMutation({
    call: (c) => c.call('migrateVm', { params: { id: vm.id }, body: to ? { toHost: to } : {} }),
    invalidate: [vmKeys.detail(vm.id), vmKeys.events(vm.id), ['hosts']],
    onSuccess: () => setOpen(false),
  });
  if (!['running', 'stopped', 'created'].includes(vm.state)) return null;
  const m = move.data?.lastMigration;
  return (
    <>
      <RoleButton
        route="migrateVm"
        disabled={move.isPending}
        onClick={() => {
          move.reset();
          setTo('');
          setOpen(true);
        }}
      >
        {move.isPending ? 'Migrating…' : 'Migrate'}
      </RoleButton>
      {m && (
        <p role="status" className="w-full text-sm" data-testid="migrated">
          Moved {m.mode}
          {m.downtimeMs !== null ? `, downtime ${m.downtimeMs} ms` : ''}, total {m.totalMs} ms.
        </p>
      )}
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Migrate ${vm.name}`}
        description={
          vm.state !== 'running'
            ? 'Cold: its disk is copied to the other host.'
            : vm.vmm === 'firecracker'
              ? 'Not live (Firecracker): it is paused, snapshotted, copied and resumed on the other host; it stands still for the whole copy.'
              : 'Live: its disk is mirrored and its memory copied while it runs; it pauses only for the switchover.'
        }
        submitLabel="Migrate"
        pending={move.isPending}
        error={errorText(move.error)}
        onSubmit={() => move.mutate()}
      >
        <SelectField label="Destination host" value={to} onChange={setTo}>
          <option value="">Any other host (placement picks)</option>
          {(hosts.data ?? [])
            .filter((h) => h.id !== vm.host && h.state === 'ready' && !h.cordoned)
            .map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
        </SelectField>
      </FormDialog>
    </>
  );
}
