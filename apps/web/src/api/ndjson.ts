import { errorCatalogue, HearthError, type ErrorCode, type ImportEvent } from '@hearth/contract';

/**
 * Splits a byte stream into NDJSON records as chunks arrive: a record may span chunks, a chunk may
 * hold several records, and multi-byte characters may be cut anywhere.
 */
export class NdjsonSplitter {
  private buf = '';
  private readonly decoder = new TextDecoder();

  /** The complete records in this chunk (and the leftovers before it). */
  push(chunk: Uint8Array): unknown[] {
    this.buf += this.decoder.decode(chunk, { stream: true });
    const lines = this.buf.split('\n');
    this.buf = lines.pop()!;
    return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  }

  /** What is left once the stream ended: a last record without its newline, if any. */
  end(): unknown[] {
    const rest = (this.buf + this.decoder.decode()).trim();
    this.buf = '';
    return rest ? [JSON.parse(rest) as unknown] : [];
  }
}

/** Reads a stream of NDJSON records, calling `onRecord` for each as soon as it is complete. */
export async function readNdjson(
  body: ReadableStream<Uint8Array>,
  onRecord: (r: unknown) => void,
): Promise<void> {
  const reader = body.getReader();
  const split = new NdjsonSplitter();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    split.push(value).forEach(onRecord);
  }
  split.end().forEach(onRecord);
}

export type ImportProgress = Extract<ImportEvent, { type: 'progress' }>;
export type ImportResult = Extract<ImportEvent, { type: 'done' }>;

/**
 * Follows an import's ImportEvent stream: progress goes to `onProgress`; the `done` event is the
 * result; an `error` event throws as a HearthError, like a failed call; a stream that ends
 * without either is an error too (the manager went away mid-import).
 */
export async function followImport(
  body: ReadableStream<Uint8Array>,
  onProgress: (p: ImportProgress) => void,
): Promise<ImportResult> {
  let result: ImportResult | null = null;
  let failure: HearthError | null = null;
  await readNdjson(body, (r) => {
    const e = r as ImportEvent;
    if (e.type === 'progress') onProgress(e);
    else if (e.type === 'done') result = e;
    else if (e.type === 'error') {
      const code = (e.error.code in errorCatalogue ? e.error.code : 'IMAGE_IMPORT_FAILED') as ErrorCode;
      failure = new HearthError(code, e.error.message, { hint: e.error.hint });
    }
  });
  if (failure) throw failure;
  if (!result) throw new Error('The import stream ended without a result; see the manager log.');
  return result;
}

/** "pull 12.0 MiB / 40.0 MiB (30%)" style percentage, or null when the total is unknown. */
export const progressPercent = (p: Pick<ImportProgress, 'bytes' | 'totalBytes'>): number | null =>
  p.bytes !== undefined && p.totalBytes ? Math.min(100, Math.round((p.bytes / p.totalBytes) * 100)) : null;
