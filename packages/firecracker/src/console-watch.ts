import { open, stat } from 'node:fs/promises';

/**
 * What the guest kernel prints (at emergency level, so even `quiet` shows it) as it ends:
 * `reboot: Power down` / `reboot: System halted` after poweroff/halt, `reboot: Restarting system`
 * before a reboot. Firecracker keeps running after a poweroff (its vCPUs just halt), so the
 * console is how a halted guest is noticed.
 */
const HALT = /reboot: (Power down|System halted)/;
const RESET = /reboot: Restarting system/;

export type ConsoleEvent = 'halt' | 'reset';

export function consoleEvent(text: string): ConsoleEvent | null {
  if (HALT.test(text)) return 'halt';
  if (RESET.test(text)) return 'reset';
  return null;
}

/** True when the log's last non-empty line says the guest powered off (adopting a halted VM). */
export async function consoleEndsHalted(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(size, 4096));
    await fh.read(buf, 0, buf.length, size - buf.length);
    const last =
      buf
        .toString('utf8')
        .replace(/\r/g, '')
        .split('\n')
        .filter((l) => l.trim())
        .pop() ?? '';
    return HALT.test(last);
  } finally {
    await fh.close();
  }
}

/**
 * Follows the console log from `from` (the size it had when this VMM started, so earlier boots'
 * lines never count) and reports the first halt or reset line. Polls: the file is written by
 * another process, and a stat every few hundred ms costs nothing.
 */
export class ConsoleWatcher {
  private offset: number;
  private carry = '';
  private timer: NodeJS.Timeout | null;
  private busy = false;
  private seen: ConsoleEvent | null = null;

  constructor(
    private readonly path: string,
    from: number,
    private readonly onEvent: (e: ConsoleEvent) => void,
    intervalMs = 250,
  ) {
    this.offset = from;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  get event(): ConsoleEvent | null {
    return this.seen;
  }

  async poll(): Promise<void> {
    if (this.busy || !this.timer) return;
    this.busy = true;
    try {
      const size = (await stat(this.path).catch(() => ({ size: 0 }))).size;
      if (size < this.offset) this.offset = 0; // capped by the agent underneath us
      if (size === this.offset) return;
      const fh = await open(this.path, 'r');
      try {
        const buf = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
        await fh.read(buf, 0, buf.length, size - buf.length);
        this.offset = size;
        const text = this.carry + buf.toString('utf8');
        this.carry = text.slice(-64);
        const ev = consoleEvent(text);
        if (ev && !this.seen) {
          this.seen = ev;
          this.onEvent(ev);
        }
      } finally {
        await fh.close();
      }
    } catch {
      /* the log may be mid-rotation; the next poll sees it */
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
