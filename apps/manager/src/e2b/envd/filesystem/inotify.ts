import { createInterface } from 'node:readline';
import { AgentWatchLine } from '@hearth/contract';
import { fromWeb } from '@hearth/contract/streams';
import { EnvdError } from '../context.ts';
import type { Guest } from './guest.ts';
import { DirPoller, type EventType, type FsEvent } from './watch.ts';

const TYPES: Record<string, EventType> = {
  create: 'EVENT_TYPE_CREATE',
  write: 'EVENT_TYPE_WRITE',
  remove: 'EVENT_TYPE_REMOVE',
  rename: 'EVENT_TYPE_RENAME',
  chmod: 'EVENT_TYPE_CHMOD',
};

/** What WatchDir and the watcher trio read changes from. */
export interface DirWatch {
  /** The changes since the last call (the first call: since the watch started). */
  poll(): Promise<FsEvent[]>;
  close(): void;
}

/**
 * A directory's changes as the guest's inotify reports them (the agent's fs.watch), kept until
 * they are polled: every change seen, in order, a rename as itself.
 */
class InotifyWatch implements DirWatch {
  private pending: FsEvent[] = [];
  private failure: EnvdError | null = null;

  constructor(private readonly stop: AbortController) {}

  static async open(guest: Guest, dir: string, recursive: boolean): Promise<InotifyWatch | null> {
    const stop = new AbortController();
    const res = await guest.watch(dir, recursive, stop.signal);
    const lines = createInterface({ input: fromWeb(res.body!), crlfDelay: Infinity });
    const w = new InotifyWatch(stop);
    const started = new Promise<boolean>((resolve, reject) => {
      lines.on('line', (raw) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          return;
        }
        const line = AgentWatchLine.safeParse(parsed);
        if (!line.success) return;
        const l = line.data;
        if (l.type === 'watching') resolve(true);
        else if (l.type === 'unsupported') resolve(false);
        else if (l.type === 'change')
          w.pending.push({ name: l.name, type: TYPES[l.op] ?? 'EVENT_TYPE_WRITE' });
        else {
          w.failure = new EnvdError('internal', `watching ${dir} failed: ${l.message}`);
          reject(w.failure);
        }
      });
      lines.on('close', () => {
        w.failure ??= new EnvdError('unavailable', `the watch of ${dir} ended: the sandbox went away`);
        reject(w.failure);
      });
      lines.on('error', () => undefined);
    });
    started.catch(() => undefined);
    if (await started) return w;
    w.close();
    return null;
  }

  poll(): Promise<FsEvent[]> {
    if (this.pending.length) return Promise.resolve(this.pending.splice(0));
    if (this.failure && !this.stop.signal.aborted) return Promise.reject(this.failure);
    return Promise.resolve([]);
  }

  close(): void {
    this.stop.abort();
  }
}

/**
 * The watch of `dir`: by inotify in the guest where its agent serves fs.watch, else by listing
 * the directory over and over (DirPoller). Events that carry their EntryInfo (`includeEntry`)
 * are the poller's, which has each path's stat at hand.
 */
export async function watchDir(
  guest: Guest,
  dir: string,
  recursive: boolean,
  includeEntry: boolean,
): Promise<DirWatch> {
  if (!includeEntry) {
    const w = await InotifyWatch.open(guest, dir, recursive);
    if (w) return w;
  }
  const poller = new DirPoller(guest, dir, recursive, includeEntry);
  await poller.start();
  return Object.assign(poller, { close: () => undefined });
}
