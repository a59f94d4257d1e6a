import type { StreamEvent } from '@hearth/contract';

/**
 * Reads the event stream of a streamed response: `read(until)` consumes SSE messages into `seen`
 * until `until()` holds or the stream ends; `cancel()` closes it.
 */
export function sseReader(res: Response) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: StreamEvent[] = [];
  let buf = '';
  const read = async (until: () => boolean): Promise<StreamEvent[]> => {
    while (!until()) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const data = buf
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buf = buf.slice(end + 2);
        if (data) seen.push(JSON.parse(data.slice(6)) as StreamEvent);
      }
    }
    return seen;
  };
  return { seen, read, cancel: () => reader.cancel() };
}

/** Reads SSE messages from a streamed response until `until` says stop, then closes it. */
export async function readEvents(
  res: Response,
  until: (seen: StreamEvent[]) => boolean,
): Promise<StreamEvent[]> {
  const r = sseReader(res);
  await r.read(() => until(r.seen));
  await r.cancel();
  return r.seen;
}
