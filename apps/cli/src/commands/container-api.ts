import { HearthError, type Container } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';

/**
 * The container resource as the CLI uses it: look-ups that tell a container from a VM (the
 * docker verbs share `start`, `stop`, `logs`… with the VM verbs), waits and listings.
 */

/** The container a name or id refers to, or null when it names none (then it may be a VM). */
export async function findContainer(c: HearthClient, ref: string): Promise<Container | null> {
  // VM ids never name a container: no look-up for them.
  if (/^vm_[0-9A-Za-z]+$/.test(ref)) return null;
  try {
    return await c.call('getContainer', { params: { id: ref } });
  } catch (e) {
    // A manager without containers answers ROUTE_NOT_FOUND: the reference is a VM's there.
    if (e instanceof HearthError && (e.code === 'CONTAINER_NOT_FOUND' || e.code === 'ROUTE_NOT_FOUND'))
      return null;
    throw e;
  }
}

export type WaitCondition = 'running' | 'healthy' | 'exited' | 'removed';

/**
 * Waits on the manager (GET …/wait, long polls of at most `step` seconds) until the condition
 * holds; `onPoll` sees the container between polls (pull progress). Gives up after timeoutS.
 */
export async function waitContainer(
  c: HearthClient,
  id: string,
  condition: WaitCondition,
  timeoutS: number,
  o: { onPoll?: (ct: Container) => void; step?: number; signal?: AbortSignal } = {},
): Promise<Container> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const left = Math.max(1, Math.min(o.step ?? 60, Math.ceil((deadline - Date.now()) / 1000)));
    try {
      const res = await c.raw(
        'waitContainer',
        { params: { id }, query: { condition, timeout: left } },
        o.signal ? { signal: o.signal } : {},
      );
      return (await res.json()) as Container;
    } catch (e) {
      if (!(e instanceof HearthError && e.code === 'WAIT_TIMEOUT') || Date.now() >= deadline) throw e;
    }
    if (o.onPoll) o.onPoll(await c.call('getContainer', { params: { id } }));
  }
}

/** Every container matching the query, following `nextCursor`. */
export async function listContainers(
  c: HearthClient,
  query: { all?: boolean; label?: string; name?: string; state?: Container['state'] },
): Promise<Container[]> {
  const items: Container[] = [];
  let cursor: string | undefined;
  do {
    const page = await c.call('listContainers', {
      query: {
        limit: 500,
        cursor,
        ...(query.all ? { all: 'true' } : {}),
        ...(query.label ? { label: query.label } : {}),
        ...(query.name ? { name: query.name } : {}),
        ...(query.state ? { state: query.state } : {}),
        ...(c.project ? { project: c.project } : {}),
      },
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** Prints pull progress lines as the container's `pull` field changes (on stderr). */
export function pullProgress(quiet: boolean): (ct: Container) => void {
  let last = '';
  return (ct) => {
    if (quiet || ct.state !== 'pulling' || !ct.pull) return;
    const line = `  pulling ${ct.image}: ${ct.pull.message}${ct.pull.percent != null ? ` (${Math.round(ct.pull.percent)}%)` : ''}`;
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
  };
}
