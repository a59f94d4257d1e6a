import type { Host } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { useAccess } from '../../api/access.ts';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { ErrorLine, errorText } from '../../components/ui.tsx';

/** Cordon or uncordon a host, and declare a silent one dead (administrators). */
export function HostActions({ host }: { host: Host }) {
  const invalidate = [['hosts'], ['vms']] as const;
  const cordon = useApiMutation({
    call: (client) => client.call(host.cordoned ? 'uncordonHost' : 'cordonHost', { params: { id: host.id } }),
    invalidate,
  });
  const dead = useApiMutation({
    call: (client) => client.call('declareHostDead', { params: { id: host.id } }),
    invalidate,
  });
  const denied = useAccess().deny('declareHostDead');
  const why = host.state === 'ready' ? 'it is heartbeating' : host.state === 'dead' ? 'it is dead' : null;
  return (
    <div className="flex flex-wrap items-start gap-2">
      <div>
        <RoleButton
          route={host.cordoned ? 'uncordonHost' : 'cordonHost'}
          aria-label={`${host.cordoned ? 'Uncordon' : 'Cordon'} ${host.name}`}
          disabled={cordon.isPending}
          onClick={() => cordon.mutate()}
        >
          {host.cordoned ? 'Uncordon' : 'Cordon'}
        </RoleButton>
        <ErrorLine message={errorText(cordon.error)} />
      </div>
      <div>
        <ConfirmButton
          label="Declare dead"
          button={{
            variant: 'danger',
            'aria-label': `Declare dead: ${host.name}`,
            disabled: denied !== null || why !== null || dead.isPending,
            title: denied ?? (why ? `Not now: ${why}` : undefined),
          }}
          error={dead.error}
          title={`Declare host ${host.name} dead?`}
          confirmLabel="Declare dead"
          danger
          onConfirm={() => dead.mutate()}
        >
          Only when you know it is down (powered off, its agent and VMs gone). Its VMs with restart policy
          always start on another host; the rest become lost. If its agent comes back, it destroys them.
        </ConfirmButton>
      </div>
    </div>
  );
}
