import { HearthError, type LastMigration, type Vm } from '@hearth/contract';
import { vmFromRow, type HostRow, type VmRow } from '../../store/mappers.ts';
import { placeVm } from '../scheduler.ts';
import { constraintsOf } from './placement.ts';
import { agentSpecFor } from './agent-spec.ts';
import type { VmContext } from './context.ts';
import { moveCold } from './migrate-cold.ts';
import { moveLive } from './migrate-live.ts';
import { moveSnapshot } from './migrate-snapshot.ts';
import { refuseFencedTarget, removeCopy } from './move-leftovers.ts';
import { carriedMib, dropCopies, snapshotsOn } from './move-snapshots.ts';

/** VMs being moved by this manager: one move per VM at a time. */
const moving = new Set<string>();

/** Every migration step says what happened on the VM's own event stream (type `migration`). */
export async function migrationEvent(ctx: VmContext, row: VmRow, actor: string, text: string): Promise<void> {
  await ctx.stores.vms.addEvent(row.id, 'migration', actor, text);
}

/**
 * The destination: the host asked for (never the one the VM is on), else the one placement
 * picks among the others, with room for the VM's CPUs, memory and disk (and `extraDiskMib` of
 * volumes and snapshots moving with it).
 */
export async function chooseTarget(
  ctx: VmContext,
  row: VmRow,
  toHost?: string,
  extraDiskMib = 0,
): Promise<HostRow> {
  const hosts = (await ctx.stores.hosts.forPlacement()).filter((h) => h.id !== row.host_id);
  if (toHost) {
    const want = await ctx.stores.hosts.get(toHost);
    if (!want) throw new HearthError('HOST_NOT_FOUND', `Migrating failed: there is no host "${toHost}".`);
    if (want.id === row.host_id)
      throw new HearthError(
        'MIGRATION_NO_TARGET',
        `Migrating VM "${row.name}" failed: it is on ${want.name} already.`,
      );
  }
  try {
    return placeVm(
      hosts,
      {
        vcpus: row.vcpus,
        memoryMib: row.memory_mib,
        vmm: row.vmm ?? 'qemu',
        // Volumes and snapshots moving with the VM need their room there too.
        diskMib: row.disk_mib + extraDiskMib,
        ...(await constraintsOf(ctx, row)),
        ...(toHost ? { host: toHost } : {}),
      },
      ctx.memory,
      ctx.disk,
      ctx.placement,
    ).host;
  } catch (e) {
    if (e instanceof HearthError && e.code !== 'HOST_NOT_FOUND') {
      throw new HearthError(
        'MIGRATION_NO_TARGET',
        `Migrating VM "${row.name}" failed: no other host can take it (${e.message})`,
        { detail: { cause: e.code } },
      );
    }
    throw e;
  }
}

/**
 * Moves a VM to another host: a running QEMU VM live, a running Firecracker VM by snapshot (not
 * live: paused, snapshotted, copied, resumed there), a stopped (or created) one cold, with the
 * snapshots named in `carried` (files and records, move-snapshots.ts), by default all of a stopped
 * VM's on its host. Answers
 * once it runs (or rests) there; any failure leaves it where it was, unchanged, with an event
 * saying why, and is thrown as MIGRATION_FAILED.
 */
export async function migrateVm(
  ctx: VmContext,
  idOrName: string,
  project: string | null,
  actor: string,
  toHost?: string,
  carried?: string[],
): Promise<Vm> {
  const row = project
    ? await ctx.stores.vms.require(idOrName, project)
    : await ctx.stores.vms.requireUnscoped(idOrName);
  if (moving.has(row.id))
    throw new HearthError('MIGRATION_IN_PROGRESS', `VM "${row.name}" is being migrated already.`);
  const live = row.state === 'running';
  if (!live && row.state !== 'stopped' && row.state !== 'created') {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Cannot migrate VM "${row.name}": it is ${row.state}; running VMs move (QEMU live, Firecracker by snapshot), stopped ones cold.`,
      { detail: { state: row.state, action: 'migrate', allowedFrom: ['running', 'stopped', 'created'] } },
    );
  }
  if (!row.host_id) throw new HearthError('MIGRATION_NO_TARGET', `VM "${row.name}" has no host.`);
  const vmm = row.vmm ?? 'qemu';
  if (live && vmm !== 'qemu' && vmm !== 'firecracker') {
    throw new HearthError(
      'MIGRATION_UNSUPPORTED',
      `Cannot migrate running VM "${row.name}": it runs on ${vmm}; only QEMU and Firecracker VMs move while running. Stop it to move it cold.`,
    );
  }
  const volumes = await ctx.stores.volumes.forVm(row.id);
  if (live && volumes.length) {
    throw new HearthError(
      'MIGRATION_UNSUPPORTED',
      `Cannot migrate running VM "${row.name}": it has volumes attached (${volumes.map((v) => v.name).join(', ')}), which move only with a stopped VM. Stop it to move it cold with its volumes (a host drain does so itself).`,
    );
  }
  // A stopped VM takes its snapshots on its host along unless told which: left behind, they could
  // no longer be restored onto it.
  const carry =
    carried ?? (row.state === 'stopped' && row.host_id ? await snapshotsOn(ctx, row.id, row.host_id) : []);
  if (carry.length && row.state !== 'stopped') {
    throw new HearthError(
      'MIGRATION_UNSUPPORTED',
      `Cannot move VM "${row.name}" with its snapshots: it is ${row.state}; only a stopped VM's snapshots move with it.`,
    );
  }
  const from = await ctx.stores.hosts.requireForCall(row.host_id);
  const volumeMib = volumes.reduce((n, v) => n + v.size_mib, 0);
  const to = await chooseTarget(ctx, row, toHost, volumeMib + (await carriedMib(ctx, row, carry)));
  await refuseFencedTarget(ctx, row, to);
  moving.add(row.id);
  const t0 = Date.now();
  const release = ctx.operations.hold(row.id);
  const mode: LastMigration['mode'] = !live ? 'cold' : vmm === 'firecracker' ? 'snapshot' : 'live';
  let recorded = false;
  try {
    // Recorded before the destination is asked for anything: a manager that dies mid-move leaves
    // this row, and whichever manager leads next resolves it (move-recovery.ts).
    await ctx.stores.moves.begin({
      vm_id: row.id,
      from_host: from.id,
      to_host: to.id,
      mode,
      replica: ctx.replica,
    });
    await migrationEvent(ctx, row, actor, `preparing: ${mode} move from ${from.name} to ${to.name}`);
    const spec = await agentSpecFor(ctx, { ...row, host_id: to.id });
    const r =
      mode === 'live'
        ? await moveLive(ctx, row, spec, from, to, actor)
        : mode === 'snapshot'
          ? await moveSnapshot(ctx, row, spec, from, to, actor)
          : await moveCold(ctx, row, from, to, carry);
    const m: LastMigration = {
      from: from.id,
      to: to.id,
      mode,
      downtimeMs: r.downtimeMs,
      qemuDowntimeMs: r.qemuDowntimeMs,
      totalMs: Date.now() - t0,
      at: new Date().toISOString(),
    };
    const moved = await ctx.stores.vms.moveHost(row.id, to.id, m, live ? r.pid : undefined, carry);
    recorded = true;
    await ctx.stores.moves.phase(row.id, 'recorded');
    // The source's copy goes only once the record names the destination.
    await removeCopy(ctx, from, row.id, `it moved to ${to.name}`);
    await dropCopies(ctx, from, carry);
    await ctx.stores.moves.end(row.id);
    const downtime = m.downtimeMs === null ? '' : `, downtime ${m.downtimeMs} ms`;
    await migrationEvent(ctx, row, actor, `done: on ${to.name} (${mode}${downtime}, total ${m.totalMs} ms)`);
    const vm = vmFromRow(moved ?? row);
    ctx.bus.publish(vm);
    ctx.log.info({ vm: row.id, ...m, from: from.name, to: to.name }, 'VM migrated');
    return vm;
  } catch (e) {
    const why = (e as Error).message;
    // Past the record's switch the VM runs on the destination: the row stays for recovery.
    if (recorded) throw e;
    // The carried snapshots' copies go: their files stay on the source, where the records say.
    await dropCopies(ctx, to, carry);
    await ctx.stores.moves
      .end(row.id)
      .catch((x: Error) => ctx.log.warn({ vm: row.id, err: x.message }, 'clearing the move record failed'));
    await migrationEvent(ctx, row, actor, `failed: ${why}; the VM stays on ${from.name}`);
    if (e instanceof HearthError && e.code === 'MIGRATION_FAILED') throw e;
    throw new HearthError('MIGRATION_FAILED', `Migrating VM "${row.name}" to ${to.name} failed: ${why}`, {
      detail: { from: from.name, to: to.name },
    });
  } finally {
    release();
    moving.delete(row.id);
  }
}
