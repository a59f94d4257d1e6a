import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Stores } from '../../store/index.ts';
import type { VmService } from '../vms/vm-service.ts';
import type { VolumeService } from '../volume-service.ts';
import type { ImageService } from '../../images/image-service.ts';
import type { AgentClient } from '../agent-client.ts';
import type { VmBus } from '../bus.ts';
import type { Sealer } from '../../crypto/sealed.ts';
import type { AppControl } from './app-control.ts';

export interface ContainerServiceDeps {
  stores: Stores;
  vms: VmService;
  volumes: VolumeService;
  agents: AgentClient;
  bus: VmBus;
  sealer: Sealer;
  log: Logger;
  /** Pulls registry references; absent: only imported images can be used. */
  images?: ImageService | undefined;
  /** Stops, starts and signals the app inside a running VM (see app-control.ts). */
  appControl?: AppControl | undefined;
}

export interface ContainerContext extends ContainerServiceDeps {
  appControl: AppControl;
  /** Emits `container` (id) when a container's own record changed (phase, VM link, removal). */
  changed: EventEmitter;
  /** Background work (pulls, removals); `dispose` waits for it. */
  tasks: Set<Promise<unknown>>;
}

/** Runs `fn` in the background, logged on failure and awaited by dispose. */
export function background(ctx: ContainerContext, what: string, fn: () => Promise<unknown>): void {
  const p = fn()
    .catch((e: unknown) => ctx.log.warn({ err: e }, what))
    .finally(() => ctx.tasks.delete(p));
  ctx.tasks.add(p);
}

export function newChanged(): EventEmitter {
  const e = new EventEmitter();
  e.setMaxListeners(0);
  return e;
}
