import { useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Container } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { containerKeys } from '../../api/queries.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { ErrorLine, errorText } from '../../components/ui.tsx';
import { ACTION_ROUTE, canDo, needsForce, type ContainerAction } from './status.ts';

const LABEL: Record<ContainerAction, string> = {
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  remove: 'Remove',
};

/** What each action does, said in its confirmation (start needs none). */
const CONFIRM: Partial<Record<ContainerAction, string>> = {
  stop: 'The app gets its stop signal, then its VM stops after the grace period.',
  restart: 'The app is stopped and started again.',
};

/**
 * Start, stop, restart and remove for one container, as its state and the caller's role allow.
 * Remove asks first; a container that still runs is removed with `force` (killed), and its named
 * volumes go too only when asked.
 */
export function ContainerActions({
  c,
  onRemoved,
  labelled = false,
}: {
  c: Container;
  onRemoved?(): void;
  /** In a list: each button names its container for screen readers and tests. */
  labelled?: boolean;
}) {
  const qc = useQueryClient();
  const [confirm, setConfirm] = useState<ContainerAction | null>(null);
  const [volumes, setVolumes] = useState(false);
  // The action whose answer is awaited (the dialog has closed by then).
  const running = useRef<ContainerAction | null>(null);
  const act = useApiMutation({
    call: (client, action: ContainerAction) => {
      const params = { id: c.id };
      if (action === 'start') return client.call('startContainer', { params });
      if (action === 'stop') return client.call('stopContainer', { params });
      if (action === 'restart') return client.call('restartContainer', { params });
      return client.call('deleteContainer', {
        params,
        query: {
          ...(needsForce(c) ? { force: 'true' } : {}),
          ...(volumes ? { volumes: 'true' } : {}),
        },
      });
    },
    invalidate: [containerKeys.all],
    onSuccess: (answer) => {
      if (running.current === 'remove') {
        qc.removeQueries({ queryKey: containerKeys.detail(c.id) });
        onRemoved?.();
      } else qc.setQueryData(containerKeys.detail(c.id), answer);
    },
  });
  const run = (a: ContainerAction) => {
    act.reset();
    running.current = a;
    act.mutate(a);
  };
  const offered = (['start', 'stop', 'restart', 'remove'] as const).filter((a) => canDo(a, c));
  return (
    <div className="flex flex-wrap items-center gap-2">
      {offered.map((a) => (
        <RoleButton
          key={a}
          route={ACTION_ROUTE[a]}
          project={c.project}
          variant={a === 'remove' ? 'danger' : 'secondary'}
          aria-label={labelled ? `${LABEL[a]} ${c.name}` : undefined}
          disabled={act.isPending}
          onClick={() => {
            setVolumes(false);
            if (a === 'start') run(a);
            else setConfirm(a);
          }}
        >
          {act.isPending && act.variables === a ? `${LABEL[a]}…` : LABEL[a]}
        </RoleButton>
      ))}
      <ErrorLine message={errorText(act.error)} />
      <ConfirmDialog
        open={confirm !== null}
        onOpenChange={(o) => !o && setConfirm(null)}
        title={`${confirm ? LABEL[confirm] : ''} container ${c.name}?`}
        confirmLabel={confirm ? LABEL[confirm] : 'OK'}
        danger={confirm === 'remove'}
        onConfirm={() => confirm && run(confirm)}
      >
        {confirm === 'remove' ? (
          <>
            <p>
              {needsForce(c)
                ? `It is ${c.state}: it is killed, then its VM and record are removed.`
                : 'Its VM and record are removed.'}{' '}
              Its logs go with it.
            </p>
            {c.volumes.length > 0 && (
              <label className="mt-3 flex items-center gap-2">
                <input type="checkbox" checked={volumes} onChange={(e) => setVolumes(e.target.checked)} />
                Also delete its named volumes ({c.volumes.map((v) => v.source).join(', ')})
              </label>
            )}
          </>
        ) : (
          confirm && CONFIRM[confirm]
        )}
      </ConfirmDialog>
    </div>
  );
}
