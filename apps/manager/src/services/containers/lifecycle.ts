import { HearthError, type Container, type ContainerState } from '@hearth/contract';
import type { ContainerRow } from '../../store/containers.ts';
import type { ContainerContext } from './context.ts';
import { startVm } from './create.ts';
import { containerFromRow } from './mapper.ts';

export type ContainerVerb = 'start' | 'stop' | 'restart' | 'pause' | 'resume' | 'kill';

const ALLOWED: Record<ContainerVerb, readonly ContainerState[]> = {
  start: ['exited', 'failed', 'running'],
  stop: ['running', 'starting', 'restarting', 'paused', 'stopping', 'exited'],
  restart: ['running', 'restarting', 'exited', 'failed', 'starting'],
  pause: ['running', 'restarting', 'starting'],
  resume: ['paused'],
  kill: ['running', 'restarting', 'starting', 'paused', 'stopping'],
};

function invalid(c: ContainerRow, verb: string): HearthError {
  return new HearthError(
    'CONTAINER_INVALID_STATE',
    `Cannot ${verb} container "${c.name}": it is ${c.state}.`,
    { detail: { state: c.state, action: verb } },
  );
}

const signalName = (s: string) => (s.startsWith('SIG') ? s : `SIG${s}`);

/** How long a verb on a booting container waits for the boot to finish. */
const BOOT_WAIT_S = 120;

/** A stop, kill or restart of a container still booting acts once its VM is up (or failed). */
async function booted(ctx: ContainerContext, c: ContainerRow): Promise<ContainerRow> {
  if (c.vm_state !== 'running')
    await ctx.vms.wait(c.vm_id!, c.project, 'running', BOOT_WAIT_S).catch(() => undefined);
  return ctx.stores.containers.requireUnscoped(c.id);
}

export interface VerbOptions {
  signal?: string | undefined;
  timeoutSeconds?: number | undefined;
}

/**
 * The lifecycle verbs. Each checks the container's state, then acts on the app through the app
 * control when it can, else on the VM. Idempotent where Docker is: starting a running container
 * or stopping an exited one changes nothing.
 */
export async function runContainerVerb(
  ctx: ContainerContext,
  ref: string,
  project: string,
  verb: ContainerVerb,
  actor: string,
  opts: VerbOptions = {},
): Promise<Container> {
  let c = await ctx.stores.containers.require(ref, project);
  if (!ALLOWED[verb].includes(c.state) || !c.vm_id) throw invalid(c, verb);
  if (c.state === 'starting' && verb !== 'start') c = await booted(ctx, c);
  const vm = c.vm_state;
  const vmId = c.vm_id!;
  const grace = opts.timeoutSeconds ?? c.spec.stopGraceSeconds;
  const signal = signalName(opts.signal ?? c.spec.stopSignal);
  switch (verb) {
    case 'start':
      if (c.state === 'running') break;
      if (vm === 'running' && (await ctx.appControl.start(c))) break;
      if (vm === 'running') await ctx.vms.action(vmId, project, 'restart', actor);
      else await startVm(ctx, c, actor);
      break;
    case 'stop':
      await ctx.stores.containers.patch(c.id, { user_stopped: true, phase_reason: 'stopped by the user' });
      await ctx.stores.containers.addEvent(c.id, 'stop', `stop (${signal}, ${grace} s grace) by ${actor}`);
      if (vm === 'running' || vm === 'paused') {
        await ctx.appControl.stop(c, signal, grace * 1000);
        await ctx.vms.action(vmId, project, 'stop', actor, { timeoutSeconds: grace });
      }
      break;
    case 'restart':
      await ctx.stores.containers.patch(c.id, { user_stopped: false, phase_reason: null });
      await ctx.stores.containers.addEvent(c.id, 'restart', `restart by ${actor}`);
      if (vm === 'running') {
        if (await ctx.appControl.stop(c, signal, grace * 1000)) {
          if (await ctx.appControl.start(c)) break;
        }
        await ctx.vms.action(vmId, project, 'restart', actor, { timeoutSeconds: grace });
      } else if (vm === 'stopped' || vm === 'created' || vm === 'failed') await startVm(ctx, c, actor);
      else throw invalid(c, verb);
      break;
    case 'pause':
      if (vm !== 'running') throw invalid(c, verb);
      await ctx.vms.action(vmId, project, 'pause', actor);
      await ctx.stores.containers.addEvent(c.id, 'pause', `paused by ${actor}`);
      break;
    case 'resume':
      if (vm !== 'paused') throw invalid(c, verb);
      await ctx.vms.action(vmId, project, 'resume', actor);
      await ctx.stores.containers.addEvent(c.id, 'resume', `resumed by ${actor}`);
      break;
    case 'kill': {
      const sig = signalName(opts.signal ?? 'SIGKILL');
      await ctx.stores.containers.addEvent(c.id, 'kill', `${sig} by ${actor}`);
      if (await ctx.appControl.signal(c, sig)) break;
      // Without app control, a kill ends the app with its VM: SIGKILL powers the VM off, any other
      // signal stops it (the guest agent passes the stop on to the app).
      if (vm !== 'running' && vm !== 'paused') throw invalid(c, verb);
      await ctx.stores.containers.patch(c.id, { user_stopped: true, phase_reason: `killed (${sig})` });
      await ctx.vms.action(vmId, project, 'stop', actor, {
        force: sig === 'SIGKILL',
        timeoutSeconds: sig === 'SIGKILL' ? 0 : c.spec.stopGraceSeconds,
      });
      break;
    }
  }
  ctx.changed.emit('container', c.id);
  return containerFromRow(await ctx.stores.containers.requireUnscoped(c.id));
}
