import { randomBytes } from 'node:crypto';
import type { Vm, VmArchiveManifest } from '@hearth/contract';
import { vmFromRow, type ImageRow } from '../../store/mappers.ts';
import { hostOf, type VmContext } from './context.ts';
import type { CreateInput } from './create-input.ts';
import { insertVm } from './create.ts';
import {
  memoryPlan,
  networksFor,
  receiveMemory,
  resumeImported,
  sendMember,
  type MemoryMember,
} from './import-memory.ts';
import { runVerb } from './lifecycle.ts';
import { placeNewVm } from './placement.ts';

export interface ImportPlan {
  manifest: VmArchiveManifest;
  image: ImageRow;
  kernel: ImageRow;
  name?: string | undefined;
  project: string;
  host?: string | undefined;
  start: boolean;
  /** The disk member's bytes, as they arrive. */
  disk: AsyncIterable<Buffer>;
  /** The memory member, next after the disk, when the archive has one. */
  memory?: MemoryMember | undefined;
}

/**
 * A new VM from an exported one: placed as a create is (its resources, ports and the host asked
 * for), recorded `created` with a fresh id, guest secret, MAC and address, its disk streamed to
 * the chosen host and checked there and here against the manifest's sha256, then started when
 * asked: from the archive's saved memory when it carries what loading it needs and the host can
 * (import-memory.ts), else cold. Any failure removes the record and whatever reached the host.
 */
export async function importVm(ctx: VmContext, p: ImportPlan, actor: string): Promise<Vm> {
  const m = p.manifest;
  const plan = memoryPlan(m, p.start);
  const body = {
    project: p.project,
    name: p.name ?? m.vm.name,
    vcpus: m.vm.vcpus,
    memoryMib: m.vm.memoryMib,
    start: p.start,
    ports: m.vm.ports,
    // Saved memory loads only into the devices it was saved with: as many NICs, in order.
    networks: networksFor(plan.restore),
    ...(plan.restore ? { vmm: m.memory!.vmm } : {}),
    ...(p.host ? { host: p.host } : {}),
  } as CreateInput;
  const { placement, nics, ports } = await placeNewVm(ctx, body, m.vm.diskMib);
  const { row, release } = await insertVm(
    ctx,
    {
      name: body.name,
      project: p.project,
      desiredState: 'stopped',
      vcpus: m.vm.vcpus,
      memoryMib: m.vm.memoryMib,
      diskMib: m.vm.diskMib,
      imageId: p.image.id,
      kernelId: p.kernel.id,
      vmm: placement.vmm,
      hostId: placement.host.id,
      env: m.vm.env,
      labels: m.vm.labels,
      timeout: m.vm.timeout,
      guest: {
        // The guest in saved memory checks the secret it was booted with.
        secret: plan.restore?.guestSecret ?? randomBytes(24).toString('base64url'),
        users: m.vm.users.map((u) => ({ name: u.name, passwordHash: null, sshKeys: u.sshKeys })),
      },
      snapshotId: null,
      ports,
      egress: m.vm.egress,
      bandwidthMbit: m.vm.bandwidthMbit,
      dnsAliases: [],
      nics,
    },
    {
      state: 'created',
      actor,
      created: `imported from VM ${m.source.name} (${m.source.id}, exported ${m.createdAt}); placed on ${placement.host.name} (${placement.vmm})`,
      reason: null,
    },
  );
  let resumeFrom: string | null = null;
  let cold = plan.reason;
  try {
    const host = await hostOf(ctx, row);
    const file = m.files.find((f) => f.path === m.disk.file)!;
    const query = {
      sizeBytes: m.disk.sizeBytes,
      hasAgent: m.disk.hasAgent ? ('true' as const) : ('false' as const),
      sha256: file.sha256,
    };
    await sendMember(ctx, host, { route: 'importDisk', query }, row.id, file, p.disk);
    if (plan.restore && p.memory) {
      const got = await receiveMemory(ctx, host, row, m, plan.restore, p.memory);
      if ('reason' in got) cold = got.reason;
      else resumeFrom = got.snapshotId;
    }
  } catch (e) {
    release();
    await undo(ctx, row.id, row.host_id!, p.project);
    throw e;
  }
  release();
  // Memory that could not be loaded is said where the VM's history shows it (docs/backups.md).
  const what = resumeFrom
    ? `disk and memory of ${m.source.name} written; it resumes from the saved memory`
    : `disk of ${m.source.name} written${cold ? `; ${cold}, the VM boots from its disk` : ''}`;
  await ctx.stores.vms.addEvent(row.id, 'imported', actor, what, 'created');
  if (resumeFrom) return resumeImported(ctx, row, await hostOf(ctx, row), resumeFrom, actor);
  if (!p.start) return vmFromRow((await ctx.stores.vms.getUnscoped(row.id)) ?? row);
  return runVerb(ctx, row.id, p.project, 'start', actor);
}

async function undo(ctx: VmContext, vmId: string, hostId: string, project: string): Promise<void> {
  const host = await ctx.stores.hosts.get(hostId);
  if (host) await ctx.agents.delete(host, vmId).catch(() => undefined);
  await ctx.stores.vms.remove(vmId);
  ctx.bus.gone(vmId, project);
}
