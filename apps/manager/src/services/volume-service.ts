import { HearthError, newId, parseSize, type Volume } from '@hearth/contract';
import { isUniqueViolation } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import type { VmRow } from '../store/mappers.ts';
import { volumeFromRow, type VolumeRow } from '../store/volumes.ts';
import type { AgentClient } from './agent-client.ts';
import type { Quotas } from './quotas.ts';
import { DEFAULT_DISK_POLICY, withDiskRoom, type DiskPolicy } from './scheduler.ts';

const DEFAULT_MIB = 1024;
const MAX_MIB = 4 * 1024 * 1024;
/** States in which a VM has no VMM holding its disks. */
const DISKS_FREE = ['created', 'stopped', 'failed'];

function sizeMib(text: string, field = 'size'): number {
  const bytes = parseSize(text);
  if (bytes === null || bytes <= 0) {
    throw new HearthError('VALIDATION_FAILED', `Reading the volume size failed: "${text}" is not a size.`, {
      fields: { [field]: ['must look like 1gb or 512mib'] },
    });
  }
  const mib = Math.ceil(bytes / 2 ** 20);
  if (mib > MAX_MIB) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Reading the volume size failed: ${text} is over the 4 TiB limit.`,
      {
        fields: { [field]: ['at most 4tib'] },
      },
    );
  }
  return mib;
}

/** Volumes: records here, files on their host (the agent makes, grows and deletes them). */
export class VolumeService {
  constructor(
    private readonly deps: {
      stores: Stores;
      agents: AgentClient;
      quotas: Quotas;
      /** The reserve kept free of volumes on each host; the scheduler's default when absent. */
      disk?: DiskPolicy;
    },
  ) {}

  private get stores() {
    return this.deps.stores;
  }

  async create(body: {
    name: string;
    project: string;
    size?: string | undefined;
    format: 'raw' | 'ext4';
    image?: string | undefined;
    host?: string | undefined;
  }): Promise<Volume> {
    const image = body.image ? await this.stores.images.require(body.image, body.project, 'image') : null;
    if (image && image.kind !== 'rootfs') {
      throw new HearthError(
        'IMAGE_KIND_MISMATCH',
        `Creating the volume failed: "${image.name}" is not a rootfs image.`,
        {
          fields: { image: ['not a rootfs image'] },
        },
      );
    }
    const minMib = image ? Math.ceil(Number(image.size_bytes) / 2 ** 20) : 1;
    const mib = body.size ? sizeMib(body.size) : Math.max(DEFAULT_MIB, minMib);
    if (mib < minMib) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Creating the volume failed: image "${image!.name}" needs ${minMib} MiB.`,
        {
          fields: { size: [`at least ${minMib}mib`] },
        },
      );
    }
    const candidates = body.host
      ? [await this.stores.hosts.require(body.host)]
      : (await this.stores.hosts.all()).filter((h) => h.state === 'ready');
    // A volume's file is sparse but may grow to its whole size: the host must have that room,
    // less the reserve that keeps the host's own filesystem (and the database on it) writable.
    const roomy = withDiskRoom(
      candidates.map((h) => ({ h })),
      mib,
      this.deps.disk ?? DEFAULT_DISK_POLICY,
      `volume "${body.name}"`,
    );
    const host = roomy.map((x) => x.h).sort((a, b) => b.inventory.diskFreeMib - a.inventory.diskFreeMib)[0];
    if (!host) throw new HearthError('NO_HOST_AVAILABLE', 'Creating the volume failed: no host is ready.');
    let row: VolumeRow;
    try {
      const need = { volumes: 1, diskMib: mib };
      row = await this.deps.quotas.within(body.project, need, 'Creating the volume', (tx) =>
        this.stores.volumes.insert(
          {
            id: newId('vol'),
            name: body.name,
            project: body.project,
            size_mib: mib,
            format: image ? 'ext4' : body.format,
            host_id: host.id,
            image_id: image?.id ?? null,
          },
          tx,
        ),
      );
    } catch (e) {
      if (isUniqueViolation(e, 'volumes_project_name')) {
        throw new HearthError('VOLUME_NAME_TAKEN', `Creating the volume failed: "${body.name}" is taken.`, {
          fields: { name: ['already taken'] },
        });
      }
      throw e;
    }
    try {
      await this.deps.agents.createVolume(host, row.id, {
        sizeMib: mib,
        format: row.format,
        imagePath: image?.path ?? null,
      });
    } catch (e) {
      await this.stores.volumes.delete(row.id);
      throw e;
    }
    return volumeFromRow(row);
  }

  async get(idOrName: string, project: string): Promise<Volume> {
    return volumeFromRow(await this.stores.volumes.require(idOrName, project));
  }

  async delete(idOrName: string, project: string): Promise<Volume> {
    const v = await this.stores.volumes.require(idOrName, project);
    if (v.vm_id) throw this.inUse(v);
    const host = await this.stores.hosts.get(v.host_id);
    if (host) await this.deps.agents.deleteVolume(host, v.id);
    await this.stores.volumes.delete(v.id);
    return volumeFromRow(v);
  }

  /** Both the volume and the VM are found in `project`. */
  async attach(idOrName: string, project: string, vmIdOrName: string, readOnly: boolean): Promise<Volume> {
    const v = await this.stores.volumes.require(idOrName, project);
    const vm = await this.stores.vms.require(vmIdOrName, project);
    if (v.vm_id && v.vm_id !== vm.id) throw this.inUse(v);
    if (v.vm_id === vm.id) return volumeFromRow(v);
    this.needStopped(vm, 'attaching');
    if (vm.host_id !== v.host_id) {
      throw new HearthError(
        'VOLUME_HOST_MISMATCH',
        `Attaching volume "${v.name}" failed: it is on host ${v.host_id}, VM "${vm.name}" on ${vm.host_id}.`,
      );
    }
    const out = await this.stores.volumes.attach(v.id, vm.id, readOnly);
    if (!out) throw this.inUse((await this.stores.volumes.getUnscoped(v.id)) ?? v);
    return volumeFromRow(out);
  }

  async detach(idOrName: string, project: string): Promise<Volume> {
    const v = await this.stores.volumes.require(idOrName, project);
    if (!v.vm_id) return volumeFromRow(v);
    const vm = await this.stores.vms.getUnscoped(v.vm_id);
    if (vm) this.needStopped(vm, 'detaching');
    return volumeFromRow(await this.stores.volumes.detach(v.id));
  }

  async resize(idOrName: string, project: string, size: string): Promise<Volume> {
    const v = await this.stores.volumes.require(idOrName, project);
    const mib = sizeMib(size);
    if (mib < v.size_mib) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Resizing volume "${v.name}" failed: volumes only grow (it has ${v.size_mib} MiB).`,
        {
          fields: { size: [`at least ${v.size_mib}mib`] },
        },
      );
    }
    if (v.vm_id) {
      const vm = await this.stores.vms.getUnscoped(v.vm_id);
      if (vm) this.needStopped(vm, 'resizing');
    }
    if (mib === v.size_mib) return volumeFromRow(v);
    const host = await this.stores.hosts.require(v.host_id);
    withDiskRoom(
      [{ h: host }],
      mib - v.size_mib,
      this.deps.disk ?? DEFAULT_DISK_POLICY,
      `${mib - v.size_mib} MiB more for volume "${v.name}"`,
    );
    // The record grows first, within the project's disk quota; it shrinks back if the host fails.
    const grown = await this.deps.quotas.within(
      v.project,
      { diskMib: mib - v.size_mib },
      `Resizing volume "${v.name}"`,
      (tx) => this.stores.volumes.resize(v.id, mib, tx),
    );
    try {
      await this.deps.agents.resizeVolume(host, v.id, { sizeMib: mib, format: v.format });
    } catch (e) {
      await this.stores.volumes.resize(v.id, v.size_mib);
      throw e;
    }
    return volumeFromRow(grown);
  }

  private needStopped(vm: VmRow, what: string): void {
    if (!DISKS_FREE.includes(vm.state)) {
      throw new HearthError(
        'VOLUME_NEEDS_STOPPED_VM',
        `${what[0]!.toUpperCase()}${what.slice(1)} the volume failed: VM "${vm.name}" is ${vm.state}.`,
        {
          detail: { state: vm.state },
        },
      );
    }
  }

  private inUse(v: VolumeRow): HearthError {
    return new HearthError('VOLUME_IN_USE', `Volume "${v.name}" is attached to VM ${v.vm_id}.`, {
      detail: { vm: v.vm_id },
    });
  }
}
