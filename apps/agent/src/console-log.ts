import { open, stat } from 'node:fs/promises';

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
 * fires. Polls: the file is written by another process and inotify adds nothing at this scale.
 */
export function waitForText(
  path: string,
  marker: string,
  from: number,
  signal: AbortSignal,
  intervalMs = 5,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let offset = from;
    let carry = '';
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
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
      }
    }, intervalMs);
    const onAbort = () => {
      cleanup();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const cleanup = () => {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
