import { useCallback, useState } from 'react';
import type { Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { Button } from '../../components/ui.tsx';
import { canReconnect, SocketTerminal } from './SocketTerminal.tsx';

type Mode = 'shell' | 'console';

/** The VM's shell (a PTY through the guest agent) or its serial console, in xterm.js. */
export default function TerminalTab({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const [mode, setMode] = useState<Mode>('shell');
  const [status, setStatus] = useState('connecting');
  const [attempt, setAttempt] = useState(0);
  const running = vm.state === 'running';
  const usable = mode === 'console' || running;
  const url = useCallback(
    ({ cols, rows }: { cols: number; rows: number }) =>
      mode === 'shell'
        ? client.connectUrl('vmShell', { params: { id: vm.id }, query: { cols, rows } })
        : client.connectUrl('vmConsole', { params: { id: vm.id } }),
    [client, vm.id, mode],
  );

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Terminal">
        <Button
          variant={mode === 'shell' ? 'primary' : 'secondary'}
          aria-pressed={mode === 'shell'}
          onClick={() => setMode('shell')}
        >
          Shell (guest agent)
        </Button>
        <Button
          variant={mode === 'console' ? 'primary' : 'secondary'}
          aria-pressed={mode === 'console'}
          onClick={() => setMode('console')}
        >
          Serial console
        </Button>
        <span
          role="status"
          data-testid="terminal-status"
          className="text-sm text-slate-600 dark:text-slate-300"
        >
          {usable ? status : 'The shell needs a running VM; the serial console works in any state.'}
        </span>
        {usable && canReconnect(status) && (
          <Button onClick={() => setAttempt((a) => a + 1)}>Reconnect</Button>
        )}
      </div>
      {usable && (
        <SocketTerminal url={url} resize={mode === 'shell'} attempt={attempt} onStatus={setStatus} />
      )}
    </div>
  );
}
