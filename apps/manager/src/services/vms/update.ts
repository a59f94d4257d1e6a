import { HearthError, type AgentVmSpec, type PatchVmBody, type PortMapping, type Vm } from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import { vmPatchColumns, type VmPatch } from '../../store/vms.ts';
import { hostOf, type VmContext } from './context.ts';
import { pushDnsNames } from './dns-push.ts';
import { assertPortsFree } from './placement.ts';
import { stopAtFor } from './timeouts.ts';

/** States in which a VM has no VMM, so its size may change. */
const RESIZABLE = ['created', 'stopped', 'failed'] as const;

/** Changes a VM's name, labels, size, timeout or network policy (ports, egress, bandwidth). */
export async function updateVm(
  ctx: VmContext,
  idOrName: string,
  project: string,
  body: PatchVmBody,
  actor: string,
): Promise<Vm> {
  const row = await ctx.stores.vms.require(idOrName, project);
  const fields: VmPatch = {};
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
    if (body.vcpus !== undefined) fields.vcpus = body.vcpus;
    if (body.memoryMib !== undefined) fields.memoryMib = body.memoryMib;
  }
  if (body.name !== undefined) fields.name = body.name;
  if (body.labels !== undefined) fields.labels = body.labels;
  if (body.ports !== undefined) {
    const ports = body.ports as PortMapping[];
    if (row.host_id)
      await assertPortsFree(ctx, row.host_id, row.id, ports, `Publishing ports of VM "${row.name}"`);
    fields.ports = ports;
  }
  if (body.egress !== undefined) fields.egress = body.egress;
  if (body.bandwidthMbit !== undefined) fields.bandwidthMbit = body.bandwidthMbit;
  if (
    fields.name !== undefined &&
    fields.name !== row.name &&
    (await ctx.stores.vms.get(fields.name, row.project))
  ) {
    // Checked before the host applies anything, so a refused rename changes nothing there.
    throw new HearthError(
      'VM_NAME_TAKEN',
      `Renaming VM "${row.name}" failed: project "${row.project}" already has a VM named "${fields.name}".`,
      { fields: { name: ['already taken'] } },
    );
  }
  // What the change adds to the project's use: refused before the host applies anything, and
  // counted again atomically with the write below.
  const need = {
    vcpus: (fields.vcpus ?? row.vcpus) - row.vcpus,
    memoryMib: (fields.memoryMib ?? row.memory_mib) - row.memory_mib,
    publishedPorts: (fields.ports ?? row.ports ?? []).length - (row.ports ?? []).length,
  };
  const what = `Changing VM "${row.name}"`;
  await ctx.quotas.check(row.project, need, what);
  if (fields.ports !== undefined || fields.egress !== undefined || fields.bandwidthMbit !== undefined) {
    // The host applies them first (it may refuse a port a host process uses); only then the record changes.
    if (row.host_id && !['created', 'stopped', 'failed', 'deleting'].includes(row.state)) {
      await ctx.agents
        .netPolicy(await hostOf(ctx, row), row.id, {
          ports: fields.ports ?? row.ports ?? [],
          egress: fields.egress !== undefined ? fields.egress : (row.egress ?? null),
          bandwidthMbit:
            fields.bandwidthMbit !== undefined ? fields.bandwidthMbit : (row.bandwidth_mbit ?? null),
        })
        .catch((e: unknown) => {
          if (!(e instanceof HearthError && e.code === 'VM_NOT_FOUND')) throw e;
        });
    }
  }
  const resizing = fields.vcpus !== undefined || fields.memoryMib !== undefined;
  if (body.timeout !== undefined) {
    fields.timeout = body.timeout;
    // The auto-stop time follows the new timeout, counted from when the VM started.
    fields.stopAt = stopAtFor(body.timeout, row.started_at);
  }
  if (body.restartPolicy !== undefined) fields.restartPolicy = body.restartPolicy;
  if (body.drainPolicy !== undefined) fields.drainPolicy = body.drainPolicy;
  const changed = vmPatchColumns(fields);
  if (changed.length === 0) return vmFromRow(row);
  try {
    const updated = await ctx.quotas.within(row.project, need, what, (tx) =>
      ctx.stores.vms.patch(row.id, fields, resizing ? [...RESIZABLE] : undefined, tx),
    );
    if (!updated) {
      throw new HearthError(
        'VM_RESIZE_REQUIRES_STOP',
        `Resizing VM "${row.name}" failed: it was started meanwhile.`,
      );
    }
    await ctx.stores.vms.addEvent(row.id, 'patched', actor, changed.join(', '));
    if (fields.name !== undefined && fields.name !== row.name) await pushDnsNames(ctx, updated);
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
