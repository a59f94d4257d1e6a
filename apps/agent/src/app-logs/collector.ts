import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  APP_FEATURE,
  GuestAppLogEvent,
  type AgentVmSpec,
  type AppStatus,
  type Welcome,
} from '@hearth/contract';
import type { GuestConnection } from '../guest/connection.ts';
import { GuestError } from '../guest/errors.ts';
import { AppLogStore, bootTag, DEFAULT_APP_LOGS, type StoredLine } from './store.ts';

export type AppStatusListener = (vmId: string, status: AppStatus, events: string[]) => void;

/**
 * Follows one VM's app.logs stream on one guest connection and stores what arrives. It resumes
 * from the stored cursor whenever the session comes back (a channel reset, a reboot: a new boot id
 * starts at 1, an agent restart: the cursor on disk), so the files get each record once.
 */
export class AppLogCollector {
  private disposed = false;
  private readonly abort = new AbortController();
  private stream: ReturnType<GuestConnection['open']> | null = null;

  constructor(
    readonly vmId: string,
    readonly store: AppLogStore,
    private readonly conn: GuestConnection,
    private readonly live: EventEmitter,
    private readonly onStatus: AppStatusListener,
    private readonly log: Logger,
  ) {
    void this.run();
  }

  private async run(): Promise<void> {
    while (!this.disposed) {
      let welcome: Welcome;
      try {
        welcome = await this.conn.ready(this.abort.signal);
      } catch {
        return; // disposed
      }
      if (!welcome.capabilities.includes(APP_FEATURE)) {
        this.log.info('the guest agent serves no app logs (an older agent)');
        return;
      }
      const again = await this.follow(welcome);
      if (!again) return;
      // The stream ended while the session may still be up: wait for the session to change.
      if (this.conn.info === welcome) await this.sessionChange();
    }
  }

  /** One follow on the current session; false when there is nothing to follow (no app). */
  private async follow(welcome: Welcome): Promise<boolean> {
    const cursor = await this.store.cursor();
    const same = cursor && bootTag(cursor.bootId) === bootTag(welcome.bootId);
    const fromSeq = same ? cursor.seq + 1 : 1;
    const fromEvent = same ? (cursor.event ?? 0) : 0;
    let s: ReturnType<GuestConnection['open']>;
    try {
      s = this.conn.open({ op: 'app.logs', follow: true, fromSeq, fromEvent });
    } catch {
      return true; // the session dropped meanwhile
    }
    this.stream = s;
    if (this.disposed) void s.control({ type: 'cancel' });
    s.on('event', (raw: unknown) => this.onEvent(welcome.bootId, raw));
    try {
      const r = await s.result;
      if (!r.ok && (r.error?.code === 'NOT_FOUND' || r.error?.code === 'UNKNOWN_OP')) return false;
    } catch (e) {
      if (!(e instanceof GuestError)) this.log.warn({ err: (e as Error).message }, 'app log follow failed');
    } finally {
      this.stream = null;
    }
    return !this.disposed;
  }

  private onEvent(bootId: string, raw: unknown): void {
    const ev = GuestAppLogEvent.safeParse(raw);
    if (!ev.success) {
      this.log.warn('the guest sent an app log event that does not match the protocol');
      return;
    }
    const e = ev.data;
    if (e.type === 'status') {
      this.onStatus(this.vmId, e.status, e.events);
      if (e.events.length) void this.store.noteEvent(bootId, e.eventSeq);
      return;
    }
    const b = bootTag(bootId);
    if (e.type === 'gap') {
      this.log.warn(
        { from: e.from, to: e.to },
        "app log records lost: the guest's buffer no longer held them",
      );
      const line: StoredLine = { t: new Date().toISOString(), gap: [e.from, e.to], b };
      void this.store.append(bootId, [], [e.from, e.to]).then(() => this.live.emit(this.vmId, [line]));
      return;
    }
    const lines: StoredLine[] = e.records.map((r) => ({ t: r.t, o: r.o, l: r.l, b, s: r.s }));
    void this.store.append(bootId, e.records).then(
      () => this.live.emit(this.vmId, lines),
      (err: Error) => this.log.error({ err: err.message }, 'storing app logs failed'),
    );
  }

  private sessionChange(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.conn.off('disconnected', done);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      this.conn.once('disconnected', done);
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Stops following (idempotent); what was stored stays. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.abort.abort();
    void this.stream?.control({ type: 'cancel' });
  }
}

/** Every VM's collector, the live feed of stored lines, and the last app status of each VM. */
export class AppLogHub {
  private readonly collectors = new Map<string, AppLogCollector>();
  readonly live = new EventEmitter();
  private readonly statuses = new Map<string, AppStatus>();

  constructor(
    private readonly log: Logger,
    private readonly onStatus: AppStatusListener,
  ) {
    this.live.setMaxListeners(0);
  }

  /** A VM with an app got a (new) guest connection: follow its logs on it. */
  attach(spec: AgentVmSpec, vmDir: string, conn: GuestConnection): void {
    // The same store: appends the old collector queued finish before the new one reads the cursor.
    const store = this.store(spec, vmDir);
    this.detach(spec.id);
    if (!spec.guest?.app) return;
    const c = new AppLogCollector(
      spec.id,
      store,
      conn,
      this.live,
      (id, status, events) => {
        this.statuses.set(id, status);
        this.onStatus(id, status, events);
      },
      this.log.child({ vm: spec.id }),
    );
    this.collectors.set(spec.id, c);
  }

  detach(vmId: string): void {
    this.collectors.get(vmId)?.dispose();
    this.collectors.delete(vmId);
  }

  store(spec: AgentVmSpec, vmDir: string): AppLogStore {
    const existing = this.collectors.get(spec.id);
    return existing?.store ?? new AppLogStore(vmDir, spec.appLogs ?? DEFAULT_APP_LOGS);
  }

  lastStatus(vmId: string): AppStatus | null {
    return this.statuses.get(vmId) ?? null;
  }

  dispose(): void {
    for (const id of [...this.collectors.keys()]) this.detach(id);
  }
}
