import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** Reads the last `bytes` of a file as text; empty when it does not exist. */
export async function tailFile(path: string, bytes: number): Promise<string> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return '';
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Keeps the console log under `cap` bytes. QEMU appends with O_APPEND, so truncating under it is
 * safe: we keep the newest half. Bytes written between our read and the truncate are lost,
 * which is acceptable for a console log.
 */
export async function capLog(path: string, cap: number): Promise<void> {
  const s = await stat(path).catch(() => null);
  if (!s || s.size <= cap) return;
  const keep = await tailFile(path, Math.floor(cap / 2));
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(0);
    await fh.write(`[hearth: console log truncated to the newest ${Math.floor(cap / 2)} bytes]\n${keep}`, 0);
  } finally {
    await fh.close();
  }
}

/**
 * Resolves when `marker` appears in the file after byte offset `from`. Rejects when `abort`
 * fires. Woken by inotify on the file's directory (the file is appended by another process and
 * may not exist yet); a slow fallback read every `fallbackMs` covers filesystems without it.
 */
export function waitForText(
  path: string,
  marker: string,
  from: number,
  signal: AbortSignal,
  fallbackMs = 500,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let offset = from;
    let carry = '';
    let busy = false;
    let again = false;
    let done = false;
    const check = async (): Promise<void> => {
      if (done) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        const fh = await open(path, 'r').catch(() => null);
        if (!fh) return;
        try {
          const { size } = await fh.stat();
          if (size < offset) offset = 0; // truncated under us
          if (size > offset) {
            const buf = Buffer.alloc(size - offset);
            await fh.read(buf, 0, buf.length, offset);
            offset = size;
            const text = carry + buf.toString('utf8');
            if (text.includes(marker)) {
              cleanup();
              resolve();
              return;
            }
            carry = text.slice(-marker.length);
          }
        } finally {
          await fh.close();
        }
      } finally {
        busy = false;
        if (again && !done) {
          again = false;
          void check();
        }
      }
    };
    const name = basename(path);
    let watcher: FSWatcher | null = null;
    try {
      watcher = watch(dirname(path), { persistent: false }, (_e, f) => {
        if (!f || f === name) void check();
      });
      watcher.on('error', () => undefined);
    } catch {
      watcher = null; // no inotify here: the fallback reads alone
    }
    const timer = setInterval(() => void check(), fallbackMs);
    const onAbort = () => {
      cleanup();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const cleanup = () => {
      done = true;
      clearInterval(timer);
      watcher?.close();
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      void check();
    }
  });
}
