import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { ShellServerMessage } from '@hearth/contract';

/**
 * xterm.js on a terminal WebSocket (the shell's PTY through the guest agent, or the serial
 * console): binary messages are terminal bytes both ways; text messages are the shell's JSON
 * (`exit`, `error`). The terminal follows its box's size; with `resize`, the shell is told each
 * new size. `url` gets the address to open once (browsers cannot set headers on a WebSocket: a
 * session's cookie goes along by itself, a token sign-in gets a single-use ticket for the URL).
 * A new `url` function, or a new `attempt`, opens a new connection; `onStatus` must be stable (a
 * state setter).
 */
export function SocketTerminal({
  url,
  resize,
  attempt,
  onStatus,
}: {
  url(size: { cols: number; rows: number }): Promise<string>;
  resize: boolean;
  attempt: number;
  onStatus(status: string): void;
}) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!box.current) return;
    const setStatus = (s: string | ((prev: string) => string)) => {
      current = typeof s === 'function' ? s(current) : s;
      onStatus(current);
    };
    let current = '';
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
    setStatus('connecting');
    let ws: WebSocket | null = null;
    let closed = false;
    void url({ cols: term.cols, rows: term.rows }).then(
      (u) => {
        if (!closed) connect((ws = new WebSocket(u)));
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
    const resized = term.onResize(({ cols, rows }) => {
      if (resize && ws?.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ type: 'resize', cols, rows }));
    });
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current);
    return () => {
      observer.disconnect();
      input.dispose();
      resized.dispose();
      closed = true;
      ws?.close();
      term.dispose();
    };
  }, [url, resize, attempt, onStatus]);

  return <div ref={box} data-testid="terminal" className="h-[60vh] min-h-64 rounded-md bg-slate-900 p-2" />;
}

/** Whether a terminal's status allows a new connection (it ended or failed). */
export const canReconnect = (status: string) => status !== 'connected' && status !== 'connecting';
