import { posix } from 'node:path';
import type { FileStat } from '@hearth/contract';
import { entries, type EntryInfoJson } from './entries.ts';
import type { Guest } from './guest.ts';

export type EventType =
  'EVENT_TYPE_CREATE' | 'EVENT_TYPE_WRITE' | 'EVENT_TYPE_REMOVE' | 'EVENT_TYPE_RENAME' | 'EVENT_TYPE_CHMOD';

/** filesystem.FilesystemEvent in protobuf's JSON form. */
export interface FsEvent {
  name: string;
  type: EventType;
  entry?: EntryInfoJson;
}

/** How long the watcher rests between two looks at the directory. */
export const POLL_MS = 200;
/** Depth of a recursive watch (the agent lists at most this deep). */
const RECURSIVE_DEPTH = 32;

/** The agent writes a file through a temporary sibling renamed over it: not the caller's file. */
const AGENT_TEMP = /(^|\/)\.[^/]*\.hearth-\d+$/;

type Snapshot = Map<string, FileStat>;

/**
 * Watches a guest directory by listing it over and over and comparing: the guest agent has no
 * change notification. A new path is a create (and a write when it already has bytes, as
 * creating and filling a file shows under inotify), a vanished one a remove, a changed size or
 * mtime a write, a changed mode a chmod. Changes between two looks that cancel out are not seen.
 */
export class DirPoller {
  private last: Snapshot | null = null;

  constructor(
    private readonly guest: Guest,
    readonly dir: string,
    private readonly recursive: boolean,
    private readonly includeEntry: boolean,
  ) {}

  /**
   * Takes the first look; the agent's listing answers envd's errors (a missing path, not a
   * directory).
   */
  async start(): Promise<void> {
    this.last = await this.look();
  }

  private async look(): Promise<Snapshot> {
    const list = await this.guest.list(this.dir, this.recursive ? RECURSIVE_DEPTH : 1);
    return new Map(list.filter((s) => !AGENT_TEMP.test(s.path)).map((s) => [s.path, s]));
  }

  /** The changes since the last look. */
  async poll(): Promise<FsEvent[]> {
    const before = this.last ?? new Map<string, FileStat>();
    const now = await this.look();
    this.last = now;
    const out: { path: string; type: EventType; stat?: FileStat }[] = [];
    for (const [path, s] of now) {
      const old = before.get(path);
      if (!old) {
        out.push({ path, type: 'EVENT_TYPE_CREATE', stat: s });
        if (s.type === 'file' && s.size > 0) out.push({ path, type: 'EVENT_TYPE_WRITE', stat: s });
        continue;
      }
      if (old.type !== s.type) {
        out.push({ path, type: 'EVENT_TYPE_REMOVE' }, { path, type: 'EVENT_TYPE_CREATE', stat: s });
        continue;
      }
      if (old.size !== s.size || old.mtime !== s.mtime) out.push({ path, type: 'EVENT_TYPE_WRITE', stat: s });
      if (old.mode !== s.mode) out.push({ path, type: 'EVENT_TYPE_CHMOD', stat: s });
    }
    for (const path of before.keys()) if (!now.has(path)) out.push({ path, type: 'EVENT_TYPE_REMOVE' });
    const withEntry = this.includeEntry ? out.filter((e) => e.stat) : [];
    const infos = new Map<string, EntryInfoJson>();
    if (withEntry.length) {
      const uniq = [...new Map(withEntry.map((e) => [e.path, e.stat!])).values()];
      for (const info of await entries(this.guest, uniq)) infos.set(info.path, info);
    }
    return out.map((e) => {
      const ev: FsEvent = { name: posix.relative(this.dir, e.path), type: e.type };
      const info = e.stat ? infos.get(e.path) : undefined;
      if (info) ev.entry = info;
      return ev;
    });
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function rest(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
