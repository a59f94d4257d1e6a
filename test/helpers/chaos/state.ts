import { ConnectionError, type HearthClient } from '@hearth/sdk';
import type { Vm } from '@hearth/contract';
import type { Rng } from './rng.ts';
import type { ChaosTopology } from './topology.ts';

/** What one operation or fault came to. `refused`: a clean 4xx; `error`: 5xx or no answer. */
export type Outcome = 'ok' | 'refused' | 'error' | 'timeout';

export interface Step {
  i: number;
  kind: 'op' | 'fault' | 'heal';
  name: string;
  target: string;
  outcome: Outcome;
  code: string | null;
  ms: number;
}

/** Files a VM should hold: path → sha256, only for writes the API acknowledged. */
export type Files = Map<string, string>;

export interface VmModel {
  files: Files;
  /** A restore whose answer was lost: which files it holds is not known, so they go unchecked. */
  unsure: boolean;
}

export interface ChaosState {
  topo: ChaosTopology;
  rng: Rng;
  /**
   * Picks the replica each call goes to: apart from `rng`, because how many calls a wait makes
   * depends on timing, and the choices of operations must not.
   */
  replicaRng: Rng;
  seed: number;
  /** Names of this run's VMs start with it (one topology serves several seeds). */
  prefix: string;
  vms: Map<string, VmModel>;
  /** Snapshot name → the files its VM held when it was taken. */
  snapshots: Map<string, Files>;
  steps: Step[];
  counter: number;
  maxVms: number;
  opTimeoutMs: number;
  log(line: string): void;
}

/** States a VM rests in; any other is on its way somewhere. */
export const SETTLED = new Set<Vm['state']>(['running', 'stopped', 'failed', 'lost', 'created', 'paused']);

export function errorCode(e: unknown): { outcome: Outcome; code: string } {
  if (e instanceof ConnectionError) return { outcome: 'error', code: 'CONNECTION' };
  const err = e as { status?: number; code?: string; message?: string };
  if (err.code === 'CHAOS_TIMEOUT') return { outcome: 'timeout', code: 'TIMEOUT' };
  if (typeof err.status === 'number')
    return {
      outcome: err.status < 500 ? 'refused' : 'error',
      code: `${err.status} ${err.code ?? ''}`.trim(),
    };
  return { outcome: 'error', code: (err.message ?? String(e)).slice(0, 80) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`${what}: no answer in ${ms} ms`), { code: 'CHAOS_TIMEOUT' })),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Calls the API through a replica that runs (picked by the seeded generator); when that replica
 * does not answer at all, the same call goes once to another, as an agent or a load balancer would.
 */
export async function api<T>(s: ChaosState, what: string, fn: (c: HearthClient) => Promise<T>): Promise<T> {
  const first = await s.topo.client((n) => s.replicaRng.int(0, n - 1));
  try {
    return await withTimeout(fn(first), s.opTimeoutMs, what);
  } catch (e) {
    if (!(e instanceof ConnectionError)) throw e;
    const again = await s.topo.client((n) => n - 1);
    return withTimeout(fn(again), s.opTimeoutMs, what);
  }
}

/** This run's VMs as the API has them (null when no replica could answer). */
export async function listVms(s: ChaosState): Promise<Vm[] | null> {
  try {
    const all = await api(s, 'listVms', (c) => c.all('listVms'));
    return all.filter((v) => v.name.startsWith(s.prefix));
  } catch {
    return null;
  }
}

/** Polls a VM until its state is one of `states` (or its record is gone, for `gone`). */
export async function waitState(
  s: ChaosState,
  id: string,
  states: readonly (Vm['state'] | 'gone')[],
  timeoutMs: number,
): Promise<Vm['state'] | 'gone' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const vm = await api(s, 'getVm', (c) => c.call('getVm', { params: { id } }));
      if (states.includes(vm.state)) return vm.state;
    } catch (e) {
      if ((e as { code?: string }).code === 'VM_NOT_FOUND' && states.includes('gone')) return 'gone';
    }
    if (Date.now() > deadline) return 'timeout';
    await new Promise((r) => setTimeout(r, 500));
  }
}
