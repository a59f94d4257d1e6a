import type { ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import type { Logger } from 'pino';
import {
  GUEST_AGENT_VSOCK_PORT,
  pidAlive,
  type VmmExit,
  type VmmInstance,
  type VmmRunState,
  type VmmSnapshotInfo,
  type VmmSnapshotOptions,
} from '@hearth/vmm';
import type { FirecrackerApi } from './api-client.ts';
import { ConsoleWatcher, type ConsoleEvent } from './console-watch.ts';
import type { FcLayout } from './layout.ts';
import type { FirecrackerMetrics, MetricsReader } from './metrics.ts';
import { createSnapshot } from './snapshot.ts';

export interface WatchdogOptions {
  /** How often `GET /` is asked; 0 turns the watchdog off. */
  intervalMs: number;
  /** Consecutive unanswered checks before the process is declared hung and killed. */
  failures: number;
}

export interface InstanceInit {
  pid: number;
  layout: FcLayout;
  api: FirecrackerApi;
  /** Host path of the vsock's Unix socket (connectGuest). */
  guestSocket: string;
  consoleLogPath: string;
  /** Console log size when this VMM started: only later lines count. */
  consoleFrom: number;
  version: string | null;
  vmId: string;
  /** Host path of the root disk (snapshots copy it). */
  diskPath: string;
  /** The drive and vsock paths as Firecracker was given them (recorded in snapshots). */
  fcDrivePath: string;
  fcVsockPath: string;
  hasNic: boolean;
  trackDirtyPages: boolean;
  /** The snapshot this process last took or was restored from: a diff snapshot's base. */
  lastSnapshot: string | null;
  metrics: MetricsReader | null;
  /** Set when we spawned the process ourselves: its exit code tells reset from crash. */
  child: ChildProcess | null;
  watchdog: WatchdogOptions;
  pollMs: number;
  /** Runs once after the process is gone (jail and cgroup removal). */
  onGone: () => Promise<void>;
  log: Logger | null;
}

/** One Firecracker process driven through its API. Launched and adopted processes behave the same. */
export class FirecrackerInstance implements VmmInstance {
  readonly accel = 'kvm' as const;
  readonly pid: number;
  readonly exited: Promise<VmmExit>;
  private resolveExit!: (e: VmmExit) => void;
  private cause: string | null = null;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private poll: NodeJS.Timeout | null = null;
  private dog: NodeJS.Timeout | null = null;
  private dogMisses = 0;
  private busy = 0;
  private readonly console: ConsoleWatcher;
  private done = false;
  private disposed = false;

  constructor(readonly init: InstanceInit) {
    this.pid = init.pid;
    this.exited = new Promise((r) => (this.resolveExit = r));
    init.child?.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      void this.finish();
    });
    this.console = new ConsoleWatcher(
      init.consoleLogPath,
      init.consoleFrom,
      (e) => this.onConsole(e),
      init.pollMs,
    );
    // Our own child's 'exit' event carries the exit code that tells a reboot (0) from an error;
    // a poll could see the zombie first and lose it. Polling is for processes we did not spawn.
    this.poll = setInterval(() => {
      if (!init.child && !pidAlive(this.pid)) void this.finish();
    }, init.pollMs);
    this.poll.unref();
    if (init.watchdog.intervalMs > 0) {
      this.dog = setInterval(() => void this.sniff(), init.watchdog.intervalMs);
      this.dog.unref();
    }
  }

  get api(): FirecrackerApi {
    return this.init.api;
  }

  /** Poweroff leaves Firecracker running with halted vCPUs: end it, as QEMU ends on shutdown. */
  guestHalted(): void {
    this.onConsole('halt');
  }

  private onConsole(e: ConsoleEvent): void {
    if (e === 'halt' && !this.cause) {
      this.cause = 'guest-shutdown';
      this.init.log?.info({ pid: this.pid }, 'guest powered off; ending its Firecracker process');
      this.signal('SIGKILL');
    }
  }

  /** Watchdog: a process that stops answering its API can never be managed again. */
  private async sniff(): Promise<void> {
    if (this.done || this.busy > 0) return;
    try {
      await this.init.api.get('/', Math.max(1000, this.init.watchdog.intervalMs));
      this.dogMisses = 0;
    } catch {
      if (this.done || this.busy > 0 || !pidAlive(this.pid)) return;
      if (++this.dogMisses < this.init.watchdog.failures) return;
      this.cause ??= 'vmm-hung';
      this.init.log?.warn(
        { pid: this.pid, misses: this.dogMisses },
        'Firecracker stopped answering; killing it',
      );
      this.signal('SIGKILL');
    }
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(this.pid, sig);
    } catch {
      /* already gone */
    }
  }

  private exitCause(): string {
    if (this.cause) return this.cause;
    const x = this.exitInfo;
    if (x?.signal) return x.signal === 'SIGKILL' ? 'killed' : 'host-signal';
    // Firecracker exits 0 when the guest resets through the i8042 (reboot=k); errors are non-zero.
    if (x && x.code === 0) return 'guest-reset';
    if (x) return 'vmm-error';
    // Not our child (adopted, or forked by the jailer): the console tells a reboot apart.
    return this.console.event === 'reset' ? 'guest-reset' : 'vanished';
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stopTimers();
    await this.console.poll().catch(() => undefined);
    this.console.dispose();
    this.init.metrics?.dispose();
    const exit = { cause: this.exitCause(), code: this.exitInfo?.code ?? null };
    await this.init
      .onGone()
      .catch((e: Error) => this.init.log?.warn({ err: e.message }, 'cleaning up after Firecracker failed'));
    this.resolveExit(exit);
  }

  private stopTimers(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.dog) clearInterval(this.dog);
    this.poll = this.dog = null;
  }

  /** Runs `fn` with the watchdog held off (snapshots may keep the API busy for seconds). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await fn();
    } finally {
      this.busy--;
    }
  }

  async pause(): Promise<void> {
    await this.init.api.patch('/vm', { state: 'Paused' });
  }

  async resume(): Promise<void> {
    await this.init.api.patch('/vm', { state: 'Resumed' });
  }

  async requestShutdown(): Promise<void> {
    await this.init.api.put('/actions', { action_type: 'SendCtrlAltDel' });
  }

  async kill(): Promise<void> {
    if (this.done) {
      await this.exited;
      return;
    }
    this.cause ??= 'killed';
    this.signal('SIGKILL');
    if (this.poll) clearInterval(this.poll);
    this.poll = setInterval(() => {
      if (!this.init.child && !pidAlive(this.pid)) void this.finish();
    }, 20);
    await this.exited;
  }

  async status(): Promise<VmmRunState> {
    if (this.done || this.cause === 'guest-shutdown') return 'shutdown';
    try {
      const info = await this.init.api.get<{ state: string }>('/', 5000);
      if (info.state === 'Running') return 'running';
      if (info.state === 'Paused') return 'paused';
      return 'unknown';
    } catch {
      return this.done ? 'shutdown' : 'unknown';
    }
  }

  /** Hybrid vsock: `CONNECT <port>\n` → `OK <host port>\n`, then the stream is the guest's port. */
  connectGuest(timeoutMs = 5000): Promise<Socket> {
    const path = this.init.guestSocket;
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      let head = Buffer.alloc(0);
      const cleanup = () => {
        clearTimeout(timer);
        sock.off('readable', onReadable);
        sock.off('error', onError);
        sock.off('close', onClose);
      };
      const fail = (why: string) => {
        cleanup();
        sock.destroy();
        reject(new Error(`Connecting to the guest agent failed: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer to CONNECT within ${timeoutMs} ms`), timeoutMs);
      // Paused-mode reads: nothing past the OK line is consumed before the caller listens.
      const onReadable = () => {
        let chunk: Buffer | null;
        while ((chunk = sock.read() as Buffer | null)) head = Buffer.concat([head, chunk]);
        const nl = head.indexOf(0x0a);
        if (nl < 0) {
          if (head.length > 64) fail('the vsock answered with something other than OK');
          return;
        }
        const line = head.subarray(0, nl).toString('utf8').trim();
        if (!/^OK \d+$/.test(line)) return fail(`the vsock answered ${JSON.stringify(line)}`);
        cleanup();
        const rest = head.subarray(nl + 1);
        if (rest.length) sock.unshift(rest);
        resolve(sock);
      };
      const onError = (e: Error) => fail(e.message);
      const onClose = () => fail('the vsock closed the connection (is the guest agent listening?)');
      sock.on('readable', onReadable);
      sock.once('error', onError);
      sock.once('close', onClose);
      sock.once('connect', () => sock.write(`CONNECT ${GUEST_AGENT_VSOCK_PORT}\n`));
    });
  }

  /** Latest counters after a FlushMetrics; null when the FIFO is not being read. */
  async metrics(): Promise<FirecrackerMetrics | null> {
    const reader = this.init.metrics;
    if (!reader || this.done) return null;
    const next = reader.next(2000);
    await this.init.api.put('/actions', { action_type: 'FlushMetrics' });
    return (await next) ?? reader.latest;
  }

  snapshot(dir: string, opts: VmmSnapshotOptions = {}): Promise<VmmSnapshotInfo> {
    return this.exclusive(() => createSnapshot(this, dir, opts));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopTimers();
    this.console.dispose();
    this.init.metrics?.dispose();
  }
}
