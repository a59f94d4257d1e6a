import { createConnection, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { jsonLines } from '@hearth/vmm';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/**
 * A QMP client over a Unix socket: greeting, capability negotiation, commands matched by id,
 * asynchronous events re-emitted as 'event'. 'close' fires once when the socket goes away.
 */
export class QmpClient extends EventEmitter {
  private socket: Socket | null = null;
  private nextId = 1;
  private pending = new Map<string, Pending>();
  private closed = false;
  version: string | null = null;

  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const c = new QmpClient();
    await c.open(path, timeoutMs);
    return c;
  }

  private open(path: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      this.socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`QMP greeting timed out on ${path}`));
      }, timeoutMs);
      let greeted = false;
      socket.setEncoding('utf8');
      socket.on(
        'data',
        jsonLines((msg) => {
          if (!greeted && 'QMP' in msg) {
            greeted = true;
            const v = (msg.QMP as { version?: { qemu?: { major: number; minor: number; micro: number } } })
              .version?.qemu;
            this.version = v ? `${v.major}.${v.minor}.${v.micro}` : null;
            this.execute('qmp_capabilities').then(
              () => {
                clearTimeout(timer);
                resolve();
              },
              (e: Error) => {
                clearTimeout(timer);
                reject(e);
              },
            );
            return;
          }
          this.onMessage(msg);
        }),
      );
      socket.on('error', (e) => {
        clearTimeout(timer);
        if (!greeted) reject(e);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        this.markClosed();
        if (!greeted) reject(new Error(`QMP socket ${path} closed before the greeting`));
      });
    });
  }

  private onMessage(msg: Record<string, unknown>): void {
    if (typeof msg.event === 'string') {
      this.emit('event', msg as unknown as QmpEvent);
      return;
    }
    const id = typeof msg.id === 'string' ? msg.id : null;
    const p = id ? this.pending.get(id) : undefined;
    if (!p || !id) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const err = msg.error as { class?: string; desc?: string };
      p.reject(new Error(`QMP ${err.class ?? 'error'}: ${err.desc ?? 'unknown'}`));
    } else p.resolve(msg.return);
  }

  /** Runs a command; a QEMU that stops answering is an error after `timeoutMs`, never a hang. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closed || !this.socket) return Promise.reject(new Error('QMP connection is closed'));
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          (resolve as (v: unknown) => void)(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket!.write(
        JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n',
      );
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('QMP connection closed'));
    this.pending.clear();
    this.emit('close');
  }

  dispose(): void {
    this.socket?.destroy();
    this.markClosed();
  }
}
