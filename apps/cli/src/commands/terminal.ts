import { errorCatalogue, HearthError, type ErrorCode } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { onRefusedUpgrade } from './ws-refusal.ts';

/** Ctrl-] leaves the serial console, as in telnet. */
const CONSOLE_ESCAPE = 0x1d;

interface TerminalOptions {
  /** Send window resizes (shell) or not (console). */
  resize: boolean;
  /** A byte that ends the session locally (console). */
  escape?: number;
}

/**
 * Joins the local terminal to a WebSocket terminal: raw mode, bytes both ways, window size
 * following SIGWINCH. Resolves with the remote exit code (shell) or 0 when left (console).
 */
export async function runTerminal(
  target: { url: string; headers: Record<string, string> },
  o: TerminalOptions,
): Promise<number> {
  // Loaded on use: the verbs that open no terminal start faster without it.
  const { WebSocket } = await import('ws');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, { headers: target.headers });
    const stdin = process.stdin;
    const raw = stdin.isTTY;
    let exitCode: number | null = null;
    let settled = false;
    const restore = () => {
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onInput);
      process.off('SIGWINCH', onResize);
    };
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      restore();
      fn();
    };
    const onInput = (b: Buffer) => {
      if (o.escape !== undefined && b.includes(o.escape)) {
        ws.close(1000);
        return finish(() => resolve(0));
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(b, { binary: true });
    };
    const onResize = () => {
      if (ws.readyState === WebSocket.OPEN && process.stdout.columns) {
        ws.send(JSON.stringify({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows }));
      }
    };
    onRefusedUpgrade(ws, 'the terminal', (e) => finish(() => reject(e)));
    ws.on('open', () => {
      if (raw) stdin.setRawMode(true);
      stdin.on('data', onInput);
      stdin.resume();
      if (o.resize) {
        onResize();
        process.on('SIGWINCH', onResize);
      }
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return void process.stdout.write(data);
      const msg = JSON.parse(data.toString()) as {
        type: string;
        exitCode?: number | null;
        signal?: string | null;
        code?: string;
        message?: string;
      };
      if (msg.type === 'exit') exitCode = msg.exitCode ?? (msg.signal ? 128 + 1 : 0);
      if (msg.type === 'error') {
        const code = msg.code && msg.code in errorCatalogue ? (msg.code as ErrorCode) : 'INTERNAL';
        finish(() => reject(new HearthError(code, msg.message ?? 'The terminal failed.')));
      }
    });
    ws.on('error', (e) => finish(() => reject(e)));
    ws.on('close', () => finish(() => resolve(exitCode ?? 0)));
  });
}

export function shellTarget(
  c: HearthClient,
  vm: string,
  query: { cols?: number; rows?: number; user?: string; command?: string },
) {
  return c.websocket('vmShell', {
    params: { id: vm },
    query: { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24, ...query },
  });
}

export function consoleTarget(c: HearthClient, vm: string) {
  return c.websocket('vmConsole', { params: { id: vm } });
}

export { CONSOLE_ESCAPE };
