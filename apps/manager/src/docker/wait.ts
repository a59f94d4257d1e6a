import type { Container } from '@hearth/contract';
import type { Creds, HearthBackend } from './backend.ts';
import { enc } from './calls.ts';
import { fromHearth } from './errors.ts';

/** How long a Docker verb that Docker answers only when done waits for the microVM (TCG boots are slow). */
export const VERB_DEADLINE_MS = 15 * 60_000;

type Condition = 'running' | 'exited' | 'removed';

/**
 * Long-polls Hearth's wait route until the container reaches `condition` (Docker's start, stop,
 * restart and rm answer only then). A container that failed or exited meanwhile ends the wait:
 * the caller reads its state. Returns null once it is removed.
 */
export async function waitUntil(
  b: HearthBackend,
  creds: Creds,
  id: string,
  condition: Condition,
  deadlineMs = VERB_DEADLINE_MS,
): Promise<Container | null> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const left = Math.max(1, Math.min(60, Math.ceil((end - Date.now()) / 1000)));
    const res = await b.call(
      'GET',
      `/v1/containers/${enc(id)}/wait?condition=${condition}&timeout=${left}`,
      creds,
    );
    if (res.status === 200) return res.body as Container;
    const code = (res.body as { error?: { code?: string } } | null)?.error?.code;
    if (code === 'CONTAINER_NOT_FOUND') return null;
    if (code === 'CONTAINER_FAILED') {
      const now = await b.call('GET', `/v1/containers/${enc(id)}`, creds);
      if (now.status === 404) return null;
      if (now.status >= 400) throw fromHearth(now.status, now.body);
      return now.body as Container;
    }
    if (code !== 'WAIT_TIMEOUT' || Date.now() >= end) throw fromHearth(res.status, res.body);
  }
}
