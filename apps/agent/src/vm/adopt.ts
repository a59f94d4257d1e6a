import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentVmSpec } from '@hearth/contract';
import type { VmmInstance } from '@hearth/vmm';
import { applyPorts, portTable, presentPortTables, removePorts } from '../net.ts';
import { applyPolicy, attachTaps, labelTaps, nicsOf, portTarget, tapsAttached } from '../vm-net.ts';
import type { VmContext } from './context.ts';
import { stopVm } from './lifecycle.ts';
import { filesOf, newRecord, readJson, type PersistedState } from './record.ts';

/** Finds VMs left by an earlier agent process and re-attaches to the ones still running. */
export async function adoptVms(ctx: VmContext): Promise<void> {
  const root = join(ctx.o.dataDir, 'vms');
  await mkdir(root, { recursive: true });
  const unfinishedStops: string[] = [];
  for (const id of await readdir(root)) {
    if (await adoptOne(ctx, id, join(root, id))) unfinishedStops.push(id);
  }
  // The previous agent died in the middle of these stops: finish them, then say so.
  for (const id of unfinishedStops) {
    void stopVm(ctx, id, { force: false, timeoutMs: 30_000 }).then(
      (s) => ctx.o.onUnexpectedChange(s),
      (e: Error) => ctx.log.warn({ vm: id, err: e.message }, 'finishing an interrupted stop failed'),
    );
  }
  await repairNetwork(ctx);
  // The forwarders kept running without us: their names may miss VMs that stopped meanwhile.
  await ctx.startDns();
}

/** Records the VM in `dir` (if it has a spec); true when it was in the middle of a stop. */
async function adoptOne(ctx: VmContext, id: string, dir: string): Promise<boolean> {
  const f = filesOf({ dir });
  const spec = await readJson<AgentVmSpec>(f.spec);
  if (!spec) return false;
  const state = (await readJson<PersistedState>(f.state)) ?? { intent: 'stopped' };
  const rec = newRecord(spec, dir);
  let instance: VmmInstance | null = null;
  let adoptError: string | null = null;
  let stopping = false;
  try {
    instance = await ctx.driverFor(spec).adopt(dir);
  } catch (e) {
    adoptError = (e as Error).message;
    ctx.log.warn({ vm: id, err: adoptError }, 'adopting VMM failed');
  }
  if (instance) {
    const s = await instance.status();
    rec.instance = instance;
    rec.hasAgent = Boolean(state.hasAgent && spec.guest);
    if (rec.hasAgent) rec.guest = ctx.openGuest(rec, instance);
    rec.phase = s === 'paused' ? 'paused' : 'running';
    rec.startedAt = state.startedAt ?? null;
    if (state.intent === 'stopped') {
      // The guest may finish the shutdown it was asked for at any moment: that exit is wanted.
      rec.phase = 'stopping';
      rec.expectingExit = true;
      stopping = true;
    }
    ctx.watch(rec, instance);
    ctx.log.info({ vm: id, pid: instance.pid, phase: rec.phase }, 'adopted running VM');
  } else {
    await ctx.releaseNet(spec);
    rec.phase = state.intent === 'running' ? 'failed' : state.intent === 'failed' ? 'failed' : 'stopped';
    rec.reason = adoptError
      ? `adopting the VM failed: ${adoptError}`
      : state.intent === 'running'
        ? 'VMM process was gone when the agent started'
        : (state.reason ?? null);
    if (adoptError) rec.phase = 'failed';
  }
  ctx.vms.set(id, rec);
  return stopping;
}

/**
 * Port forwards: re-applied for VMs that kept running, removed for ours that did not (only
 * tables named after our own VMs are touched: other agents' rules are none of our business).
 * One listing up front, so stopped VMs without forwards cost no nft call at start-up.
 */
async function repairNetwork(ctx: VmContext): Promise<void> {
  const present = await presentPortTables();
  for (const r of ctx.vms.values()) {
    const to = r.instance ? portTarget(r.spec) : null;
    if (r.instance && nicsOf(r.spec).length) {
      await labelTaps(r.spec, ctx.agentName).catch((e: Error) =>
        ctx.log.warn({ vm: r.spec.id, err: e.message }, 'labelling the TAPs failed'),
      );
      await applyPolicy(r.spec, ctx.agentName).catch((e: Error) =>
        ctx.log.warn({ vm: r.spec.id, err: e.message }, 'repairing the egress policy failed'),
      );
      // An agent stopped in the middle of a boot may have left the TAPs down, outside their bridge.
      if (!(await tapsAttached(r.spec))) {
        await attachTaps(r.spec).catch((e: Error) =>
          ctx.log.warn({ vm: r.spec.id, err: e.message }, 'attaching the TAPs failed'),
        );
      }
    }
    if (!to && !present.has(portTable(r.spec.id))) continue;
    const fix = to ? applyPorts(r.spec.id, to, r.spec.ports ?? []) : removePorts(r.spec.id);
    await fix.catch((e: Error) =>
      ctx.log.warn({ vm: r.spec.id, err: e.message }, 'repairing published ports failed'),
    );
  }
}
