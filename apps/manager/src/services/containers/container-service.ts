import type {
  Container,
  ContainerEvent,
  ContainerState,
  CreateContainerBody,
  ExecBody,
  PageQuery,
} from '@hearth/contract';
import type { z } from 'zod';
import { HearthError } from '@hearth/contract';
import type { VmRow } from '../../store/mappers.ts';
import { containerStats, execDefaults, guestOf } from './access.ts';
import { vmVerbs } from './app-control.ts';
import { background, newChanged, type ContainerContext, type ContainerServiceDeps } from './context.ts';
import { createContainer, resumeInterrupted } from './create.ts';
import { runContainerVerb, type ContainerVerb, type VerbOptions } from './lifecycle.ts';
import { containerFromRow } from './mapper.ts';
import { removeContainer } from './remove.ts';
import { waitContainer, type WaitCondition } from './wait.ts';
import { ContainerWatch } from './watch.ts';

export type { ContainerServiceDeps } from './context.ts';

const yes = (v: string | undefined) => v === 'true' || v === '1';

/**
 * Containers: one microVM each, running an OCI image's process under the guest agent. The
 * facade routes and other services call; each part lives in the file named for it.
 */
export class ContainerService {
  private readonly ctx: ContainerContext;
  private readonly watch: ContainerWatch;

  constructor(deps: ContainerServiceDeps & { sweepMs?: number }) {
    this.ctx = { ...deps, appControl: deps.appControl ?? vmVerbs, changed: newChanged(), tasks: new Set() };
    this.watch = new ContainerWatch(this.ctx, deps.sweepMs ?? 5000);
  }

  /** Starts following VM changes (events, restart policies) and resumes interrupted work. */
  start(): void {
    this.watch.start();
    background(this.ctx, 'resuming containers', () => resumeInterrupted(this.ctx, 'manager'));
  }

  /** This replica stopped leading: another one supervises containers now. */
  stopWatching(): void {
    this.watch.dispose();
  }

  async dispose(): Promise<void> {
    this.watch.dispose();
    await Promise.allSettled([...this.ctx.tasks]);
  }

  create(body: z.output<typeof CreateContainerBody>, project: string, actor: string): Promise<Container> {
    return createContainer(this.ctx, body, project, actor);
  }

  async get(ref: string, project: string): Promise<Container> {
    return containerFromRow(await this.ctx.stores.containers.require(ref, project));
  }

  async list(q: {
    project: string;
    limit: number;
    cursor?: string | undefined;
    all?: string | undefined;
    state?: ContainerState | undefined;
    name?: string | undefined;
    label?: string | undefined;
  }) {
    const page = await this.ctx.stores.containers.list({
      project: q.project,
      limit: q.limit,
      cursor: q.cursor,
      all: yes(q.all),
      state: q.state,
      namePrefix: q.name,
      label: q.label,
    });
    return { items: page.items.map(containerFromRow), nextCursor: page.nextCursor };
  }

  verb(
    ref: string,
    project: string,
    verb: ContainerVerb,
    actor: string,
    opts?: VerbOptions,
  ): Promise<Container> {
    return runContainerVerb(this.ctx, ref, project, verb, actor, opts);
  }

  delete(
    ref: string,
    project: string,
    q: { force?: string | undefined; volumes?: string | undefined },
    actor: string,
  ): Promise<Container> {
    return removeContainer(this.ctx, ref, project, { force: yes(q.force), volumes: yes(q.volumes) }, actor);
  }

  wait(ref: string, project: string, condition: WaitCondition, timeoutS: number): Promise<Container> {
    return waitContainer(this.ctx, ref, project, condition, timeoutS);
  }

  /** The VM exec of the container's running VM, with the container's env, workdir and user as defaults. */
  async execTarget(ref: string, project: string, body: ExecBody) {
    const g = await guestOf(this.ctx, ref, project, 'Running a command');
    await this.ctx.stores.containers.addEvent(
      g.c.id,
      'exec',
      typeof body.command === 'string' ? body.command : body.command.join(' '),
    );
    return { host: g.host, vmId: g.vmId, body: await execDefaults(this.ctx, g.c, body) };
  }

  /** The running-or-not VM whose agent keeps the container's app logs. */
  async logsVm(ref: string, project: string): Promise<VmRow> {
    const c = await this.ctx.stores.containers.require(ref, project);
    const vm = c.vm_id ? await this.ctx.stores.vms.getUnscoped(c.vm_id) : null;
    if (!vm) {
      throw new HearthError('CONTAINER_NOT_RUNNING', `Container "${c.name}" has no VM yet, so no logs.`, {
        detail: { state: c.phase },
      });
    }
    return vm;
  }

  async top(ref: string, project: string) {
    const { host, vmId } = await guestOf(this.ctx, ref, project, 'Listing processes');
    return this.ctx.agents.call(host, 'listProcesses', { params: { id: vmId } });
  }

  stats(ref: string, project: string) {
    return containerStats(this.ctx, ref, project);
  }

  async events(ref: string, project: string, q: z.infer<typeof PageQuery>) {
    const c = await this.ctx.stores.containers.require(ref, project);
    const page = await this.ctx.stores.containers.events(c.id, q);
    return {
      items: page.items.map((e): ContainerEvent => ({
        seq: e.seq,
        containerId: e.container_id,
        type: e.type,
        message: e.message,
        at: new Date(e.at).toISOString(),
      })),
      nextCursor: page.nextCursor,
    };
  }

  /** Checks every container once now (tests and shutdown-free callers; the watch does it on its own). */
  sweep(): Promise<void> {
    return this.watch.sweep();
  }
}
