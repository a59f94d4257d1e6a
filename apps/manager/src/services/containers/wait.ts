import { HearthError, type Container } from '@hearth/contract';
import type { ContainerContext } from './context.ts';
import { containerFromRow } from './mapper.ts';

export type WaitCondition = 'running' | 'healthy' | 'exited' | 'removed';

/** How often a wait re-reads the container besides the change events (app reports may come without one). */
const RECHECK_MS = 1000;

const reasonOf = (c: Container) => (c.stateReason ?? '').split('\n')[0] ?? '';

/**
 * Long poll: resolves with the container once the condition holds; `running` and `healthy` fail
 * with CONTAINER_FAILED when it exits or fails first (and `healthy` when it turns unhealthy),
 * WAIT_TIMEOUT after `timeoutS`.
 */
export async function waitContainer(
  ctx: ContainerContext,
  ref: string,
  project: string,
  condition: WaitCondition,
  timeoutS: number,
): Promise<Container> {
  const firstRow = await ctx.stores.containers.require(ref, project);
  const first = containerFromRow(firstRow);
  const id = first.id;
  return new Promise<Container>((resolve, reject) => {
    let last = first;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      ctx.changed.off('container', onChange);
      ctx.bus.off('vm', onVm);
      ctx.bus.off('gone', onGone);
      fn();
    };
    const failed = (c: Container, why: string) =>
      finish(() =>
        reject(
          new HearthError(
            'CONTAINER_FAILED',
            `Waiting for container "${c.name}" to be ${condition} failed: it is ${why}. ${reasonOf(c)}`.trim(),
            { detail: { state: c.state, health: c.health, exitCode: c.exitCode, reason: c.stateReason } },
          ),
        ),
      );
    // A VM that is to run again (a start or restart in flight: stopped or created, desired
    // running) shows the container exited for a moment; only an app that exited in its running
    // VM, or a VM nobody wants running, is an exit.
    const judge = (c: Container | null, vmDesired: string | null = null, vmState: string | null = null) => {
      if (!c) {
        if (condition === 'removed') return finish(() => resolve({ ...last, state: 'removing' }));
        return finish(() =>
          reject(
            new HearthError(
              'CONTAINER_NOT_FOUND',
              `Waiting for container "${last.name}" failed: it was removed.`,
            ),
          ),
        );
      }
      last = c;
      const ended = c.state === 'exited' || c.state === 'failed';
      if (condition === 'exited' && ended) return finish(() => resolve(c));
      if (condition === 'running' && c.state === 'running') return finish(() => resolve(c));
      if (condition === 'healthy') {
        if (c.state === 'running' && (c.health === 'healthy' || c.healthcheck === null))
          return finish(() => resolve(c));
        if (c.health === 'unhealthy') return failed(c, 'unhealthy');
      }
      if ((condition === 'running' || condition === 'healthy') && ended) {
        if (c.state === 'exited' && vmDesired === 'running' && vmState !== 'running') return;
        return failed(c, c.state);
      }
    };
    const check = () =>
      void ctx.stores.containers.getUnscoped(id).then(
        (row) => judge(row ? containerFromRow(row) : null, row?.vm_desired ?? null, row?.vm_state ?? null),
        () => undefined,
      );
    const onChange = (cid: string) => cid === id && check();
    const onVm = (vm: { id: string }) => vm.id === last.vm && check();
    const onGone = (vmId: string) => vmId === last.vm && check();
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new HearthError(
              'WAIT_TIMEOUT',
              `Waiting for container "${first.name}" to be ${condition} timed out after ${timeoutS} s (it is ${last.state}).`,
              { detail: { state: last.state } },
            ),
          ),
        ),
      timeoutS * 1000,
    );
    const poll = setInterval(check, RECHECK_MS);
    ctx.changed.on('container', onChange);
    ctx.bus.on('vm', onVm);
    ctx.bus.on('gone', onGone);
    judge(first, firstRow.vm_desired, firstRow.vm_state);
  });
}
