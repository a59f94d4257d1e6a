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
 * Log bytes received and not yet on disk beyond which a collector stops following: it cancels
 * the guest's stream, lets the store catch up, and follows again from the stored cursor (what
 * the guest's ring dropped meanwhile becomes a gap marker). A flooding app costs the host disk
 * bandwidth, never unbounded memory.
 */
const DEFAULT_HIGH_WATER_BYTES = 16 * 1024 * 1024;

/**
 * Follows one VM's app.logs stream on one guest connection and stores what arrives. It resumes
 * from the stored cursor whenever the session comes back (a channel reset, a reboot: a new boot id
 * starts at 1, an agent restart: the cursor on disk), so the files get each record once.
 */
export class AppLogCollector {
  private disposed = false;
  private readonly abort = new AbortController();
  private stream: ReturnType<GuestConnection['open']> | null = null;
  /** Bytes of log lines handed to the store and not yet written. */
  private queued = 0;
  /** Set while the collector waits for the store to catch up; what arrives meanwhile is dropped. */
  private drained: Promise<void> | null = null;
  private onDrained: (() => void) | null = null;

  constructor(
    readonly vmId: string,
    readonly store: AppLogStore,
    private readonly conn: GuestConnection,
    private readonly live: EventEmitter,
    private readonly onStatus: AppStatusListener,
    private readonly log: Logger,
    private readonly highWaterBytes = DEFAULT_HIGH_WATER_BYTES,
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
      if (this.drained) {
        // Cancelled for back-pressure: follow again from what is stored once it is written.
        await this.drained;
        this.drained = null;
        continue;
      }
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
    if (this.drained) return; // fetched again from the cursor once the store caught up
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
    const bytes = e.records.reduce((n, r) => n + r.l.length + 64, 0);
    this.queued += bytes;
    void this.store
      .append(bootId, e.records)
      .then(
        () => this.live.emit(this.vmId, lines),
        (err: Error) => this.log.error({ err: err.message }, 'storing app logs failed'),
      )
      .finally(() => {
        this.queued -= bytes;
        if (this.queued === 0) this.onDrained?.();
      });
    if (this.queued > this.highWaterBytes) this.shed();
  }

  /** Stops the follow until the store has written what it was given. */
  private shed(): void {
    this.log.warn(
      { queuedBytes: this.queued },
      'the app writes logs faster than the host stores them; pausing the follow',
    );
    this.drained = new Promise<void>((resolve) => {
      this.onDrained = () => {
        this.onDrained = null;
        resolve();
      };
    });
    void this.stream?.control({ type: 'cancel' });
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
    private readonly highWaterBytes = DEFAULT_HIGH_WATER_BYTES,
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
      this.highWaterBytes,
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
