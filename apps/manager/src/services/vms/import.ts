import { fromIterable } from '@hearth/contract/streams';
import { createHash, randomBytes } from 'node:crypto';
import { HearthError, type Vm, type VmArchiveManifest } from '@hearth/contract';
import { vmFromRow, type ImageRow } from '../../store/mappers.ts';
import { hostOf, type VmContext } from './context.ts';
import type { CreateInput } from './create-input.ts';
import { insertVm } from './create.ts';
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
}

/**
 * A new VM from an exported one: placed as a create is (its resources, ports and the host asked
 * for), recorded `created` with a fresh id, guest secret, MAC and address, its disk streamed to
 * the chosen host and checked there and here against the manifest's sha256, then started when
 * asked. Any failure removes the record and whatever reached the host.
 */
export async function importVm(ctx: VmContext, p: ImportPlan, actor: string): Promise<Vm> {
  const m = p.manifest;
  const body = {
    project: p.project,
    name: p.name ?? m.vm.name,
    vcpus: m.vm.vcpus,
    memoryMib: m.vm.memoryMib,
    start: p.start,
    ports: m.vm.ports,
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
        secret: randomBytes(24).toString('base64url'),
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
  try {
    const file = m.files.find((f) => f.path === m.disk.file)!;
    const h = createHash('sha256');
    // A failure of the archive itself (cut short, malformed) ends the disk early but cleanly: the
    // agent then refuses what it got, and the archive's failure is the one reported. Failing the
    // request body instead would look to the agent client like the host going away.
    let sourceError: unknown = null;
    async function* hashed(): AsyncGenerator<Buffer> {
      try {
        for await (const c of p.disk) {
          h.update(c);
          yield c;
        }
      } catch (e) {
        sourceError = e;
      }
    }
    const res = await ctx.agents
      .raw(
        await hostOf(ctx, row),
        'importDisk',
        {
          params: { id: row.id },
          query: {
            sizeBytes: m.disk.sizeBytes,
            hasAgent: m.disk.hasAgent ? 'true' : 'false',
            sha256: file.sha256,
          },
        },
        {
          body: fromIterable(hashed()) as never,
          headers: { 'content-type': 'application/octet-stream' },
          stream: true,
        },
      )
      .catch((e: unknown) => {
        throw sourceError ?? e;
      });
    await res.text();
    if (sourceError) throw sourceError;
    // The agent checked the bytes it wrote; these are the bytes the archive held.
    const sum = h.digest('hex');
    if (sum !== file.sha256) {
      throw new HearthError(
        'VM_ARCHIVE_CHECKSUM_MISMATCH',
        `Importing failed: ${file.path} hashes to ${sum}, the manifest says ${file.sha256}; nothing was kept.`,
        { detail: { file: file.path, expected: file.sha256, actual: sum } },
      );
    }
  } catch (e) {
    release();
    await undo(ctx, row.id, row.host_id!, p.project);
    throw e;
  }
  release();
  // The archive's memory snapshot is checked but not restored (docs/backups.md): said where the VM's history shows it.
  const memory = m.memory ? '; its memory snapshot was not restored, the VM boots from its disk' : '';
  await ctx.stores.vms.addEvent(
    row.id,
    'imported',
    actor,
    `disk of ${m.source.name} written${memory}`,
    'created',
  );
  if (!p.start) return vmFromRow((await ctx.stores.vms.getUnscoped(row.id)) ?? row);
  return runVerb(ctx, row.id, p.project, 'start', actor);
}

async function undo(ctx: VmContext, vmId: string, hostId: string, project: string): Promise<void> {
  const host = await ctx.stores.hosts.get(hostId);
  if (host) await ctx.agents.delete(host, vmId).catch(() => undefined);
  await ctx.stores.vms.remove(vmId);
  ctx.bus.gone(vmId, project);
}
