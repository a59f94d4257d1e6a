import { createInterface } from 'node:readline';
import type { ExecEvent } from '@hearth/contract';
import { fromWeb } from '@hearth/contract/streams';

/** A process event in envd's JSON form (process.ProcessEvent). */
export type ProcessEvent =
  | { start: { pid: number } }
  | { data: { stdout: string } | { stderr: string } | { pty: string } }
  | { end: { exitCode: number; exited: boolean; status: string; error?: string } };

/** How a guest exec's NDJSON event reads as an envd event (null: nothing to say). */
export function toProcessEvent(ev: ExecEvent, pty: boolean): ProcessEvent | null {
  switch (ev.type) {
    case 'started':
      return { start: { pid: ev.pid } };
    case 'stdout':
      return { data: pty ? { pty: ev.data } : { stdout: ev.data } };
    case 'stderr':
      return { data: { stderr: ev.data } };
    case 'exit': {
      const code = ev.exitCode ?? (ev.signal ? -1 : 0);
      const status = ev.signal ? `signal: ${signalName(ev.signal)}` : `exit status ${code}`;
      return {
        end: {
          exitCode: code,
          exited: ev.signal === null,
          status,
          ...(code !== 0 ? { error: status } : {}),
        },
      };
    }
    case 'error':
      return { end: { exitCode: -1, exited: false, status: 'error', error: ev.message } };
  }
}

/** Go's spelling of a signal's exit, which envd reports ("signal: killed"). */
function signalName(sig: string): string {
  const names: Record<string, string> = {
    KILL: 'killed',
    TERM: 'terminated',
    INT: 'interrupt',
    HUP: 'hangup',
  };
  return names[sig.replace(/^SIG/, '')] ?? sig;
}

/**
 * A process started through envd's Start. The manager reads its guest stream to the end whoever
 * listens: on E2B a process outlives the call that started it (a background command, a client
 * that disconnects), while a Hearth exec dies with its HTTP client. Listeners come and go (Start,
 * Connect); each gets the events from when it joined.
 */
export class ProcessRun {
  processId = '';
  pid = 0;
  ended: ProcessEvent | null = null;
  /** A PTY's terminal: keystrokes and resizes go there (null: a pipe process). */
  terminal: { input(b: Buffer): void; resize(cols: number, rows: number): void } | null = null;
  private readonly listeners = new Set<(ev: ProcessEvent) => void>();
  private ready: () => void = () => undefined;
  private readonly started = new Promise<void>((r) => (this.ready = r));

  constructor(
    readonly vmId: string,
    readonly config: { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string },
    readonly tag: string | null,
    private readonly onEnd: (run: ProcessRun) => void,
  ) {}

  /** The guest started it. */
  begin(pid: number, processId: string): void {
    this.pid = pid;
    this.processId = processId;
    this.ready();
  }

  /** An event of the process; the first `end` is the last one anybody hears. */
  push(ev: ProcessEvent): void {
    if (this.ended) return;
    if ('end' in ev) this.ended = ev;
    for (const l of this.listeners) l(ev);
    if (this.ended) {
      this.ready();
      this.onEnd(this);
    }
  }

  /** Resolves once the guest said which process it started (or the stream ended). */
  whenStarted(): Promise<void> {
    return this.started;
  }

  /** Events from now on; returns the unsubscribe. */
  listen(fn: (ev: ProcessEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** Feeds a run from a streamed guest exec (NDJSON ExecEvent lines) until its end. */
export function readExec(run: ProcessRun, res: Response): void {
  const lines = createInterface({ input: fromWeb(res.body!), crlfDelay: Infinity });
  void (async () => {
    try {
      for await (const line of lines) {
        if (!line) continue;
        const ev = JSON.parse(line) as ExecEvent;
        if (ev.type === 'started') run.begin(ev.pid, ev.processId);
        const out = toProcessEvent(ev, false);
        if (out && !('start' in out)) run.push(out);
        if (run.ended) break;
      }
    } catch (e) {
      run.push({ end: { exitCode: -1, exited: false, status: 'error', error: (e as Error).message } });
    } finally {
      run.push({ end: { exitCode: -1, exited: false, status: 'error', error: 'the guest stream ended' } });
    }
  })();
}

/** The processes started through envd, per VM, until they end. */
export class ProcessRuns {
  private readonly byVm = new Map<string, Map<number, ProcessRun>>();

  add(run: ProcessRun): void {
    let m = this.byVm.get(run.vmId);
    if (!m) this.byVm.set(run.vmId, (m = new Map()));
    m.set(run.pid, run);
  }

  remove(run: ProcessRun): void {
    const m = this.byVm.get(run.vmId);
    if (m?.get(run.pid) === run) m.delete(run.pid);
    if (m && m.size === 0) this.byVm.delete(run.vmId);
  }

  get(vmId: string, pid: number): ProcessRun | undefined {
    return this.byVm.get(vmId)?.get(pid);
  }

  byTag(vmId: string, tag: string): ProcessRun | undefined {
    return [...(this.byVm.get(vmId)?.values() ?? [])].find((r) => r.tag === tag);
  }

  list(vmId: string): ProcessRun[] {
    return [...(this.byVm.get(vmId)?.values() ?? [])];
  }
}
