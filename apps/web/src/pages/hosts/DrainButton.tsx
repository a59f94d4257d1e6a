import { useState } from 'react';
import type { Host } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { errorText } from '../../components/ui.tsx';

/** Cordons the host and moves every VM off it; each VM's outcome is listed as the drain goes. */
export function DrainButton({ host }: { host: Host }) {
  const [confirm, setConfirm] = useState(false);
  const drain = useApiMutation({
    call: (c) => c.call('drainHost', { params: { id: host.id } }),
    invalidate: [['hosts']],
  });
  const d = host.drain;
  return (
    <div className="space-y-2 text-sm">
      <RoleButton
        route="drainHost"
        disabled={drain.isPending || d?.status === 'draining'}
        onClick={() => setConfirm(true)}
      >
        {d?.status === 'draining' ? 'Draining…' : 'Drain'}
      </RoleButton>
      {drain.error && <p role="alert">{errorText(drain.error)}</p>}
      {d && (
        <div data-testid="drain">
          <p>
            Drain {d.status} ({d.vms.filter((v) => v.status === 'done').length} of {d.vms.length} moved)
          </p>
          <ul>
            {d.vms.map((v) => (
              <li key={v.vm}>
                {v.name}: {v.status}
                {v.mode ? ` (${v.mode})` : ''}
                {v.reason ? ` — ${v.reason}` : ''}
              </li>
            ))}
          </ul>
        </div>
      )}
      <ConfirmDialog
        open={confirm}
        onOpenChange={setConfirm}
        title={`Drain ${host.name}?`}
        confirmLabel="Drain"
        onConfirm={() => drain.mutate()}
      >
        The host is cordoned (no new VMs), then every VM moves to another host: running ones live, stopped
        ones cold.
      </ConfirmDialog>
    </div>
  );
}
