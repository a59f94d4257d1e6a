import { rm } from 'node:fs/promises';
import { HearthError, type AgentVmPhase, type AgentVmSpec, type AgentVmStatus } from '@hearth/contract';
import type { VmmInstance } from '@hearth/vmm';
import { bootVm } from './boot/index.ts';
import type { VmContext } from './context.ts';
import { killExpected } from './expected-exit.ts';
import { askGuestToShutDown, flushGuestDisks } from './guest-access.ts';
import { persist } from './record.ts';

/** Boots the VM and resolves once the guest is up (or failed). Idempotent. */
export function startVm(ctx: VmContext, spec: AgentVmSpec): Promise<AgentVmStatus> {
  const r = ctx.recordFor(spec);
  return ctx.serial(r, async () => {
    if (r.instance && (r.phase === 'running' || r.phase === 'paused')) return ctx.status(spec.id);
    // A VMM left over from a stop that did not finish must not share the disk with a new one.
    if (r.instance) await killExpected(ctx, r, { ignoreErrors: true });
    r.spec = spec;
    await bootVm(ctx, r);
    return ctx.status(spec.id);
  });
}

/**
 * Asks the guest to shut down and waits up to `timeoutMs` (or not at all with `force`), then
 * kills the VMM. The intent is written first: an agent that dies mid-stop leaves its successor
 * to finish the stop.
 */
export function stopVm(
  ctx: VmContext,
  id: string,
  opts: { force: boolean; timeoutMs: number },
): Promise<AgentVmStatus> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    const inst = rec.instance;
    if (!inst) {
      if (rec.phase !== 'failed') rec.phase = 'stopped';
      return ctx.status(id);
    }
    // A forced stop keeps the disks (the root disk too): what the guest wrote goes to them first.
    if (opts.force) await flushGuestDisks(rec);
    rec.phase = 'stopping';
    // From here on the guest may power off at any moment: that exit is wanted.
    rec.expectingExit = true;
    let reason = opts.force ? 'stopped by force' : 'the guest shut down';
    try {
      await persist(rec, 'stopped');
      if (!opts.force) {
        try {
          if ((await inst.status()) === 'paused') await inst.resume();
          await askGuestToShutDown(rec, inst);
          const timedOut = await Promise.race([
            inst.exited.then(() => false),
            new Promise<boolean>((r) => setTimeout(() => r(true), opts.timeoutMs).unref()),
          ]);
          if (timedOut) reason = `forced after ${opts.timeoutMs / 1000} s: the guest did not shut down`;
        } catch (e) {
          // A VMM that no longer answers QMP is stopped the hard way, never left half-stopped.
          reason = `forced: asking the guest to shut down failed (${(e as Error).message})`;
        }
      }
    } catch (e) {
      rec.expectingExit = false;
      throw e;
    }
    await killExpected(ctx, rec, { ignoreErrors: false });
    await ctx.releaseNet(rec.spec);
    rec.phase = 'stopped';
    rec.reason = reason;
    rec.startedAt = null;
    await persist(rec, 'stopped');
    return ctx.status(id);
  });
}

export function pauseVm(ctx: VmContext, id: string): Promise<AgentVmStatus> {
  return vmmAction(ctx, id, 'pause', 'running', 'paused', (i) => i.pause());
}

export function resumeVm(ctx: VmContext, id: string): Promise<AgentVmStatus> {
  return vmmAction(ctx, id, 'resume', 'paused', 'running', async (i) => {
    await i.resume();
    // The guest's clock stood still while paused: set it from ours (best effort).
    const g = ctx.vms.get(id)?.guest;
    if (g?.info) void g.request({ op: 'time.sync', unixMs: Date.now() }, 5000).catch(() => undefined);
  });
}

/** A VMM verb that moves the VM from one phase to another; asking for the phase it has is a no-op. */
function vmmAction(
  ctx: VmContext,
  id: string,
  action: 'pause' | 'resume',
  from: AgentVmPhase,
  to: AgentVmPhase,
  fn: (i: VmmInstance) => Promise<void>,
): Promise<AgentVmStatus> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    if (rec.phase === to) return ctx.status(id);
    if (rec.phase !== from || !rec.instance) {
      throw new HearthError(
        'VM_INVALID_STATE',
        `Cannot ${action} VM ${id}: it is ${rec.phase}, not ${from}.`,
        {
          detail: { state: rec.phase, action, allowedFrom: [from] },
        },
      );
    }
    await fn(rec.instance);
    rec.phase = to;
    return ctx.status(id);
  });
}

/** Kills the VMM and removes the run directory, disk, TAP and console log. */
export function deleteVm(ctx: VmContext, id: string): Promise<void> {
  const rec = ctx.vms.get(id);
  // A VM never started here may still have a run directory: an imported disk waiting for it.
  if (!rec) {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) return Promise.resolve();
    ctx.log.info({ vm: id }, 'deleting a VM this agent does not run: its run directory goes');
    return rm(ctx.vmDir(id), { recursive: true, force: true });
  }
  return ctx.serial(rec, async () => {
    // The root disk goes with the VM, its volumes stay: what the guest wrote to them goes first.
    if (rec.spec.volumes.length) await flushGuestDisks(rec);
    await killExpected(ctx, rec, { ignoreErrors: false });
    await ctx.releaseNet(rec.spec);
    await rm(rec.dir, { recursive: true, force: true });
    ctx.o.confiner?.forget(id);
    ctx.vms.delete(id);
    ctx.log.info({ vm: id }, 'VM deleted');
  });
}
