import { createConnection, type Socket } from 'node:net';
import {
  pidAlive,
  type VmmExit,
  type VmmInstance,
  type VmmRunState,
  type VmmSnapshotInfo,
  type VmmSnapshotOptions,
} from '@hearth/vmm';
import { diffSnapshotRefused } from '@hearth/contract';
import { saveState } from './migration.ts';
import type { QmpClient, QmpEvent } from './qmp.ts';

export { pidAlive };

/** A QEMU process driven through QMP. Works the same for launched and adopted processes. */
export class QemuInstance implements VmmInstance {
  readonly exited: Promise<VmmExit>;
  private shutdownCause: string | null = null;
  private exitCode: number | null = null;
  private resolveExit!: (e: VmmExit) => void;
  private poll: NodeJS.Timeout | null = null;
  private done = false;

  constructor(
    readonly pid: number,
    readonly accel: 'kvm' | 'tcg',
    private readonly qmp: QmpClient,
    private readonly guestSocketPath: string | null,
    private readonly files: { vmId: string; disk: string | null; confined?: boolean } = {
      vmId: '',
      disk: null,
    },
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
    qmp.on('event', (ev: QmpEvent) => {
      if (ev.event === 'SHUTDOWN') this.shutdownCause = String(ev.data?.reason ?? 'shutdown');
    });
    qmp.on('close', () => this.watchUntilGone(50));
    // A slow poll catches a process that dies without closing the socket cleanly.
    this.watchUntilGone(1000);
  }

  /** Called by the launcher when it owns the child and sees it exit. */
  noteExitCode(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitCode = code;
    if (signal && !this.shutdownCause) this.shutdownCause = signal === 'SIGKILL' ? 'killed' : 'host-signal';
    this.finish();
  }

  private watchUntilGone(intervalMs: number): void {
    if (this.done) return;
    if (this.poll) clearInterval(this.poll);
    this.poll = setInterval(() => {
      if (!pidAlive(this.pid)) this.finish();
    }, intervalMs);
    this.poll.unref();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.poll) clearInterval(this.poll);
    this.qmp.dispose();
    this.resolveExit({ cause: this.shutdownCause ?? 'vanished', code: this.exitCode });
  }

  async pause(): Promise<void> {
    await this.qmp.execute('stop');
  }

  async resume(): Promise<void> {
    await this.qmp.execute('cont');
  }

  async requestShutdown(): Promise<void> {
    await this.qmp.execute('system_powerdown');
  }

  async kill(): Promise<void> {
    if (this.done) return;
    if (!this.shutdownCause) this.shutdownCause = 'killed';
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    this.watchUntilGone(20);
    await this.exited;
  }

  async status(): Promise<VmmRunState> {
    if (this.done) return 'shutdown';
    try {
      const s = await this.qmp.execute<{ status: string; running: boolean }>('query-status');
      if (s.running) return 'running';
      // After a snapshot (postmigrate) or before a restore finished (inmigrate) the VM is stopped.
      if (['paused', 'postmigrate', 'inmigrate', 'prelaunch', 'finish-migrate'].includes(s.status))
        return 'paused';
      if (s.status === 'shutdown') return 'shutdown';
      return 'unknown';
    } catch {
      return this.done ? 'shutdown' : 'unknown';
    }
  }

  async snapshot(dir: string, opts: VmmSnapshotOptions = {}): Promise<VmmSnapshotInfo> {
    if (opts.type === 'diff') throw diffSnapshotRefused('qemu');
    if (!this.files.disk) throw new Error('Snapshotting failed: the disk of this VMM is unknown');
    const wasRunning = (await this.status()) === 'running';
    if (wasRunning) await this.pause();
    try {
      return await saveState(
        this.qmp,
        dir,
        this.files.disk,
        {
          vmm: 'qemu',
          vmmVersion: this.qmp.version ?? 'unknown',
          type: 'full',
          vmId: this.files.vmId,
          createdAt: new Date().toISOString(),
        },
        this.files.confined ?? false,
      );
    } finally {
      // The VM continues afterwards, exactly as it was.
      if (wasRunning) await this.qmp.execute('cont');
    }
  }

  /** Lets a restore feed the saved state into this (incoming) QEMU. */
  get qmpClient(): QmpClient {
    return this.qmp;
  }

  connectGuest(): Promise<Socket> {
    const path = this.guestSocketPath;
    if (!path) return Promise.reject(new Error('this VMM was started without a guest agent channel'));
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }

  dispose(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.done = true;
    this.qmp.dispose();
  }
}
