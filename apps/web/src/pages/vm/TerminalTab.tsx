import { useEffect, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { ShellServerMessage, type Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { Button } from '../../components/ui.tsx';

type Mode = 'shell' | 'console';

/**
 * xterm.js over the shell WebSocket (a PTY through the guest agent) or the serial console.
 * Browsers cannot set headers on a WebSocket: a session sign-in's cookie goes along by itself,
 * and a token sign-in first fetches a single-use ticket for the URL (never the token). The terminal
 * follows its container's size, and the shell is told each new size with a resize message.
 */
export default function TerminalTab({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const box = useRef<HTMLDivElement>(null);
  const [mode, setMode] = useState<Mode>('shell');
  const [status, setStatus] = useState('connecting');
  const [attempt, setAttempt] = useState(0);
  const running = vm.state === 'running';
  const usable = mode === 'console' || running;

  useEffect(() => {
    if (!usable || !box.current) return;
    const dark = document.documentElement.classList.contains('dark');
    const term = new Terminal({
      cursorBlink: true,
      fontSize: 14,
      theme: dark ? undefined : { background: '#0f172a' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current);
    fit.fit();
    const route = mode === 'shell' ? 'vmShell' : 'vmConsole';
    setStatus('connecting');
    let ws: WebSocket | null = null;
    let closed = false;
    void client
      .connectUrl(route, {
        params: { id: vm.id },
        ...(mode === 'shell' ? { query: { cols: term.cols, rows: term.rows } } : {}),
      } as never)
      .then(
        (url) => {
          if (!closed) connect((ws = new WebSocket(url)));
        },
        (e: Error) => setStatus(`error: ${e.message}`),
      );
    const connect = (ws: WebSocket) => {
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        setStatus('connected');
        term.focus();
      };
      ws.onmessage = (m: MessageEvent<ArrayBuffer | string>) => {
        if (typeof m.data !== 'string') return term.write(new Uint8Array(m.data));
        const msg = ShellServerMessage.safeParse(JSON.parse(m.data));
        if (!msg.success) return;
        if (msg.data.type === 'exit') setStatus(`the shell exited (${msg.data.exitCode ?? msg.data.signal})`);
        else setStatus(`error: ${msg.data.message}`);
      };
      ws.onclose = (e) =>
        setStatus((s) =>
          s === 'connected' || s === 'connecting' ? `disconnected${e.reason ? `: ${e.reason}` : ''}` : s,
        );
    };
    const enc = new TextEncoder();
    const input = term.onData((d) => ws?.readyState === WebSocket.OPEN && ws.send(enc.encode(d)));
    const resize = term.onResize(({ cols, rows }) => {
      if (mode === 'shell' && ws?.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ type: 'resize', cols, rows }));
    });
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current);
    return () => {
      observer.disconnect();
      input.dispose();
      resize.dispose();
      closed = true;
      ws?.close();
      term.dispose();
    };
  }, [client, vm.id, mode, usable, attempt]);

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
        {usable && status !== 'connected' && status !== 'connecting' && (
          <Button onClick={() => setAttempt((a) => a + 1)}>Reconnect</Button>
        )}
      </div>
      {usable && (
        <div ref={box} data-testid="terminal" className="h-[60vh] min-h-64 rounded-md bg-slate-900 p-2" />
      )}
    </div>
  );
}
