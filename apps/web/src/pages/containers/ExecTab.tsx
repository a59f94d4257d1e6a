import { useCallback, useState } from 'react';
import type { Container } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { inputClass } from '../../components/Field.tsx';
import { Button, Empty } from '../../components/ui.tsx';
import { canReconnect, SocketTerminal } from '../vm/SocketTerminal.tsx';

/**
 * An interactive command in the container (`docker exec -it`): its VM's shell WebSocket with
 * `command`, in the same terminal as the VM page's Terminal tab.
 */
export default function ExecTab({ c }: { c: Container }) {
  const { client } = useSession();
  const [draft, setDraft] = useState('/bin/sh');
  const [command, setCommand] = useState<string | null>(null);
  const [status, setStatus] = useState('connecting');
  const [attempt, setAttempt] = useState(0);
  const vm = c.vm;
  const url = useCallback(
    ({ cols, rows }: { cols: number; rows: number }) =>
      client.connectUrl('vmShell', {
        params: { id: vm ?? '' },
        query: { cols, rows, ...(command ? { command } : {}) },
      }),
    [client, vm, command],
  );
  if (c.state !== 'running' || !vm)
    return <Empty title="Not running">A command runs in the container while it is running.</Empty>;
  return (
    <div className="space-y-2">
      <form
        className="flex flex-wrap items-end gap-2"
        aria-label="Exec"
        onSubmit={(e) => {
          e.preventDefault();
          setCommand(draft.trim());
          setAttempt((a) => a + 1);
        }}
      >
        <label className="text-sm">
          <span className="mb-1 block font-medium">Command</span>
          <input
            className={`${inputClass} w-72 font-mono`}
            value={draft}
            spellCheck={false}
            onChange={(e) => setDraft(e.target.value)}
          />
        </label>
        <Button type="submit" variant="primary">
          {command === null ? 'Run' : 'Run again'}
        </Button>
        {command !== null && (
          <span
            role="status"
            data-testid="terminal-status"
            className="text-sm text-slate-600 dark:text-slate-300"
          >
            {status}
          </span>
        )}
        {command !== null && canReconnect(status) && (
          <Button onClick={() => setAttempt((a) => a + 1)}>Reconnect</Button>
        )}
      </form>
      <p className="text-xs text-slate-600 dark:text-slate-300">
        Runs in the container&apos;s microVM with a terminal; empty runs the login shell.
      </p>
      {command !== null && <SocketTerminal url={url} resize attempt={attempt} onStatus={setStatus} />}
    </div>
  );
}
