import { HearthError, type AgentVmSpec, type PatchVmBody, type PortMapping, type Vm } from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import { hostOf, type VmContext } from './context.ts';
import { assertPortsFree } from './placement.ts';
import { stopAtFor } from './timeouts.ts';

/** States in which a VM has no VMM, so its size may change. */
const RESIZABLE = ['created', 'stopped', 'failed'] as const;

/** Changes a VM's name, labels, size, timeout or network policy (ports, egress, bandwidth). */
export async function updateVm(
  ctx: VmContext,
  idOrName: string,
  body: PatchVmBody,
  actor: string,
): Promise<Vm> {
  const row = await ctx.stores.vms.require(idOrName);
  const cols: Record<string, unknown> = {};
  if (
    (body.vcpus !== undefined && body.vcpus !== row.vcpus) ||
    (body.memoryMib !== undefined && body.memoryMib !== row.memory_mib)
  ) {
    if (!(RESIZABLE as readonly string[]).includes(row.state)) {
      throw new HearthError(
        'VM_RESIZE_REQUIRES_STOP',
        `Resizing VM "${row.name}" failed: it is ${row.state}.`,
      );
    }
    const host = await hostOf(ctx, row);
    if (body.vcpus !== undefined && body.vcpus > host.inventory.cpus) {
      throw new HearthError(
        'VCPUS_EXCEED_HOST',
        `Resizing VM "${row.name}" failed: its host has ${host.inventory.cpus} CPUs.`,
        { fields: { vcpus: [`at most ${host.inventory.cpus}`] } },
      );
    }
    if (body.vcpus !== undefined) cols.vcpus = body.vcpus;
    if (body.memoryMib !== undefined) cols.memory_mib = body.memoryMib;
  }
  if (body.name !== undefined) cols.name = body.name;
  if (body.labels !== undefined) cols.labels = body.labels;
  if (body.ports !== undefined) {
    const ports = body.ports as PortMapping[];
    if (row.host_id)
      await assertPortsFree(ctx, row.host_id, row.id, ports, `Publishing ports of VM "${row.name}"`);
    cols.ports = ports;
  }
  if (body.egress !== undefined) cols.egress = body.egress;
  if (body.bandwidthMbit !== undefined) cols.bandwidth_mbit = body.bandwidthMbit;
  if (
    cols.name !== undefined &&
    cols.name !== row.name &&
    (await ctx.stores.vms.get(String(cols.name), row.project))
  ) {
    // Checked before the host applies anything, so a refused rename changes nothing there.
    throw new HearthError(
      'VM_NAME_TAKEN',
      `Renaming VM "${row.name}" failed: project "${row.project}" already has a VM named "${String(cols.name)}".`,
      { fields: { name: ['already taken'] } },
    );
  }
  if ('ports' in cols || 'egress' in cols || 'bandwidth_mbit' in cols) {
    // The host applies them first (it may refuse a port a host process uses); only then the record changes.
    if (row.host_id && !['created', 'stopped', 'failed', 'deleting'].includes(row.state)) {
      await ctx.agents
        .netPolicy(await hostOf(ctx, row), row.id, {
          ports: (cols.ports ?? row.ports ?? []) as PortMapping[],
          egress: (cols.egress ?? row.egress ?? null) as Vm['egress'] | null,
          bandwidthMbit: (('bandwidth_mbit' in cols ? cols.bandwidth_mbit : row.bandwidth_mbit) ?? null) as
            number | null,
        })
        .catch((e: unknown) => {
          if (!(e instanceof HearthError && e.code === 'VM_NOT_FOUND')) throw e;
        });
    }
  }
  const resizing = 'vcpus' in cols || 'memory_mib' in cols;
  if (body.timeout !== undefined) {
    cols.timeout = body.timeout;
    // The auto-stop time follows the new timeout, counted from when the VM started.
    cols.stop_at = stopAtFor(body.timeout, row.started_at);
  }
  if (Object.keys(cols).length === 0) return vmFromRow(row);
  try {
    const updated = await ctx.stores.vms.update(row.id, cols, resizing ? [...RESIZABLE] : undefined);
    if (!updated) {
      throw new HearthError(
        'VM_RESIZE_REQUIRES_STOP',
        `Resizing VM "${row.name}" failed: it was started meanwhile.`,
      );
    }
    await ctx.stores.vms.addEvent(row.id, 'patched', actor, Object.keys(cols).join(', '));
    const vm = vmFromRow(updated);
    ctx.bus.publish(vm);
    return vm;
  } catch (e) {
    if (isUniqueViolation(e, 'vms_project_name')) {
      throw new HearthError('VM_NAME_TAKEN', `Renaming VM "${row.name}" failed: "${body.name}" is taken.`, {
        fields: { name: ['already taken'] },
      });
    }
    throw e;
  }
}

/**
 * Ports, egress or bandwidth changed while the VM was booting (the agent did not know it yet):
 * the record is the truth, so the host gets it now.
 */
export async function catchUpNetPolicy(ctx: VmContext, row: VmRow, booted: AgentVmSpec): Promise<void> {
  const want = {
    ports: row.ports ?? [],
    egress: row.egress ?? null,
    bandwidthMbit: row.bandwidth_mbit ?? null,
  };
  const had = {
    ports: booted.ports,
    egress: booted.egress ?? null,
    bandwidthMbit: booted.bandwidthMbit ?? null,
  };
  if (JSON.stringify(want) === JSON.stringify(had)) return;
  await ctx.agents
    .netPolicy(await hostOf(ctx, row), row.id, want)
    .catch((e: Error) =>
      ctx.log.warn({ vm: row.id, err: e.message }, 'applying changed network settings failed'),
    );
}
