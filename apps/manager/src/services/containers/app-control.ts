import type { ContainerRow } from '../../store/containers.ts';

/**
 * Control of the app inside a container's running VM. The guest agent supervises the app; a
 * manager call that stops, starts, restarts or signals it there (without touching the VM) plugs
 * in here. Until one is given, `vmVerbs` answers false and the container verbs use the VM's own
 * verbs instead (a stop stops the VM after the grace period, a start boots it, a kill with SIGKILL
 * powers it off).
 */
export interface AppControl {
  /** Stops the app with `signal`, SIGKILL after `graceMs`; false: not supported, use the VM. */
  stop(c: ContainerRow, signal: string, graceMs: number): Promise<boolean>;
  /** Starts the app again in its running VM; false: not supported. */
  start(c: ContainerRow): Promise<boolean>;
  /** Sends `signal` to the app; false: not supported. */
  signal(c: ContainerRow, signal: string): Promise<boolean>;
}

/** No app-level control: every verb falls back to the VM's verbs. */
export const vmVerbs: AppControl = {
  stop: () => Promise.resolve(false),
  start: () => Promise.resolve(false),
  signal: () => Promise.resolve(false),
};
