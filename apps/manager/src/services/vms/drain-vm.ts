import { type HostDrain, type Vm } from '@hearth/contract';
import type { VmRow } from '../../store/mappers.ts';
import type { VolumeRow } from '../../store/volumes.ts';
import type { VmContext } from './context.ts';
import { runVerb } from './lifecycle.ts';
import { migrateVm, migrationEvent } from './migrate.ts';
import { waitForState } from './wait.ts';

type DrainItem = HostDrain['vms'][number];

/** How long a drain waits for a VM it stopped (or started again) to get there. */
const STOP_WAIT_S = 300;
const START_WAIT_S = 900;

/** Why a running VM cannot move while it runs (QEMU live, Firecracker by snapshot), or null. */
function notLive(row: VmRow, volumes: VolumeRow[]): string | null {
  const vmm = row.vmm ?? 'qemu';
  if (vmm !== 'qemu' && vmm !== 'firecracker')
    return `it runs on ${vmm}; only QEMU (live) and Firecracker (by snapshot) VMs move while running`;
  if (volumes.length)
    return `it has volumes attached (${volumes.map((v) => v.name).join(', ')}), which move only with a stopped VM`;
  return null;
}

async function stopAndWait(ctx: VmContext, row: VmRow, actor: string): Promise<void> {
  await runVerb(ctx, row.id, row.project, 'stop', actor);
  await waitForState(ctx, row.id, row.project, 'stopped', STOP_WAIT_S);
  // The stop's own bookkeeping ends before the move holds the VM.
  await ctx.operations.current(row.id);
}

/**
 * Moves one VM off a host being drained, following its drain policy (docs/migration.md § Drain):
 * `stay` leaves it (skipped); a running VM with `migrate` moves live where it can, else it is
 * stopped, moved cold and started again; with `stop`, and any paused VM, it is stopped and moved
 * cold and left stopped; a stopped or created VM moves cold. A VM moved cold takes its snapshots
 * on this host along (move-snapshots.ts). A VM with volumes attached moves only cold (its volumes'
 * files with it): a running one is stopped, moved and started again.
 */
export async function drainOne(ctx: VmContext, item: DrainItem, actor: string): Promise<void> {
  const row = await ctx.stores.vms.requireUnscoped(item.vm);
  const policy = row.drain_policy ?? 'migrate';
  if (policy === 'stay') {
    item.status = 'skipped';
    item.reason = `its drain policy is "stay": it stays on this host (${row.state})`;
    return;
  }
  const volumes = await ctx.stores.volumes.forVm(row.id);
  const running = row.state === 'running';
  const why = running ? (policy === 'stop' ? 'its drain policy is "stop"' : notLive(row, volumes)) : null;
  let moved: Vm;
  if (running && !why) {
    moved = await migrateVm(ctx, row.id, null, actor);
  } else if (running || row.state === 'paused') {
    const because = row.state === 'paused' ? 'it is paused (its memory does not move cold)' : why!;
    const again = running && policy === 'migrate';
    await migrationEvent(
      ctx,
      row,
      actor,
      `drain: ${because}: stopping it to move it cold${again ? ', then starting it again' : ''}`,
    );
    await stopAndWait(ctx, row, actor);
    try {
      // Stopped now: its snapshots on this host go with it (migrateVm's default for a stopped VM).
      moved = await migrateVm(ctx, row.id, null, actor);
    } catch (e) {
      // The cold move failed with the VM still on this host: one that ran runs again there.
      if (running)
        await runVerb(ctx, row.id, row.project, 'start', actor).catch((x: Error) =>
          ctx.log.warn(
            { vm: row.id, err: x.message },
            'starting a VM again after a failed drain move failed',
          ),
        );
      throw e;
    }
    if (again) {
      await runVerb(ctx, row.id, row.project, 'start', actor);
      moved = await waitForState(ctx, row.id, row.project, 'running', START_WAIT_S);
      await migrationEvent(ctx, row, actor, `drain: started again on the new host`);
    }
    item.reason = `${because}: stopped, moved cold${again ? ', started again' : ', left stopped'}`;
  } else {
    // A stopped VM takes its snapshots on this host along (a paused E2B sandbox's among them):
    // migrateVm's default for a stopped VM.
    moved = await migrateVm(ctx, row.id, null, actor);
  }
  item.status = 'done';
  item.to = moved.host;
  item.mode = moved.lastMigration?.mode ?? null;
}
