import type { AgentVmStatus, BootProfile, BootStepTiming } from '@hearth/contract';

/** Where a start-up's time goes on the manager's side, until the agent's steps join it. */
export interface BootClock {
  readonly source: BootProfile['source'];
  readonly pool: string | null;
  /** performance.now() when the request (or the start) began. */
  readonly t0: number;
  readonly steps: BootStepTiming[];
}

export function startBootClock(source: BootProfile['source'], pool: string | null = null): BootClock {
  return { source, pool, t0: performance.now(), steps: [] };
}

/** Records a step that began at `since` (a performance.now() value) and ends now. */
export function markStep(clock: BootClock, name: string, since: number): number {
  const now = performance.now();
  clock.steps.push({ name, ms: Math.round(now - since) });
  return now;
}

/**
 * `accept`: everything from the request to the agent call that the named steps do not cover
 * (validation, images, the insert, events), so manager steps add up to the time before the call.
 */
export function markAccept(clock: BootClock): void {
  const before = performance.now() - clock.t0;
  const named = clock.steps.reduce((n, s) => n + s.ms, 0);
  clock.steps.unshift({ name: 'accept', ms: Math.max(0, Math.round(before - named)) });
}

/** The profile of a start that just reached running: the manager's steps, then the host's. */
export function bootProfileOf(clock: BootClock, status: AgentVmStatus): BootProfile {
  return {
    source: clock.source,
    pool: clock.pool,
    steps: [...clock.steps, ...(status.bootSteps ?? [])],
    totalMs: Math.round(performance.now() - clock.t0),
    at: new Date().toISOString(),
  };
}
