import { randomBytes } from 'node:crypto';
import type { Creds } from './backend.ts';
import { DockerError } from './errors.ts';

/** The body of Docker's `POST /containers/{id}/exec`. */
export interface ExecConfig {
  Cmd?: string[];
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  vmId: string;
  config: ExecConfig;
  creds: Creds;
  running: boolean;
  /** Set once it ran and ended. */
  exitCode: number | null;
  pid: number;
  /** The terminal size asked for (rows, cols) before the TTY opened, and how to apply one after. */
  size: { h: number; w: number } | null;
  resize: ((h: number, w: number) => void) | null;
  endedAt: number | null;
}

/** How long an exec that ended stays inspectable (the client reads its exit code right away). */
const KEEP_ENDED_MS = 10 * 60_000;

/**
 * Exec instances, Docker's two-step exec (create, then start): kept in memory, as Docker keeps
 * them, and forgotten a while after they end.
 */
export class ExecStore {
  private readonly all = new Map<string, ExecRecord>();
  private readonly sweep: NodeJS.Timeout;

  constructor() {
    this.sweep = setInterval(() => this.expire(), 60_000);
    this.sweep.unref();
  }

  create(containerId: string, vmId: string, config: ExecConfig, creds: Creds): ExecRecord {
    const rec: ExecRecord = {
      id: randomBytes(32).toString('hex'),
      containerId,
      vmId,
      config,
      creds,
      running: false,
      exitCode: null,
      pid: 0,
      size: null,
      resize: null,
      endedAt: null,
    };
    this.all.set(rec.id, rec);
    return rec;
  }

  /** The exec instance, or Docker's 404 for it. */
  require(id: string): ExecRecord {
    const rec = this.all.get(id);
    if (!rec) throw new DockerError(404, `No such exec instance: ${id}`);
    return rec;
  }

  private expire(now = Date.now()): void {
    for (const [id, r] of this.all) if (r.endedAt && now - r.endedAt > KEEP_ENDED_MS) this.all.delete(id);
  }

  dispose(): void {
    clearInterval(this.sweep);
    this.all.clear();
  }
}
