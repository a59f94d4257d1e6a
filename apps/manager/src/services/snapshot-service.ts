import { timings } from './metrics/timings.ts';
import type { Logger } from 'pino';
import {
  diffRefusal,
  diffSnapshotRefused,
  diskSnapshotRefused,
  HearthError,
  newId,
  type Snapshot,
  type SnapshotKind,
  snapshotInUse,
  type Vm,
} from '@hearth/contract';
import { isUniqueViolation } from '../db/index.ts';
import type { Stores } from '../store/index.ts';
import type { VmRow } from '../store/mappers.ts';
import { snapshotFromRow } from '../store/snapshots.ts';
import type { AgentClient } from './agent-client.ts';
import type { Quotas } from './quotas.ts';
import type { VmService } from './vms/vm-service.ts';

export interface SnapshotServiceDeps {
  stores: Stores;
  agents: AgentClient;
  vms: VmService;
  log: Logger;
  quotas: Quotas;
}

/** Snapshots: the manager keeps the records and lineage; the VM's host keeps the files. */
export class SnapshotService {
  constructor(private readonly deps: SnapshotServiceDeps) {}

  private get stores() {
    return this.deps.stores;
  }

  /** A snapshot of a VM of `project`, in that project. */
  async create(
    vmIdOrName: string,
    project: string,
    body: {
      name?: string | undefined;
      type?: 'full' | 'diff' | undefined;
      kind?: SnapshotKind | undefined;
    },
    actor: string,
    scheduleId: string | null = null,
  ): Promise<Snapshot> {
    const vm = await this.stores.vms.require(vmIdOrName, project);
    const kind = body.kind ?? 'memory';
    const type = body.type ?? 'full';
    // Refused before anything is recorded or paused: only Firecracker keeps the dirty-page record
    // a diff is made of (docs/storage.md); its host refuses one with nothing to build on.
    if (type === 'diff' && kind === 'disk') throw diffSnapshotRefused('disk', vm.name, vm.vmm ?? 'qemu');
    if (type === 'diff' && vm.vmm !== 'firecracker') throw diffSnapshotRefused('qemu', vm.name);
    if (kind === 'disk' && vm.vmm === 'firecracker') throw diskSnapshotRefused('firecracker', vm.name);
    // A stopped VM's disks can be copied as they are; memory exists only while it runs.
    const allowed = kind === 'disk' ? ['running', 'paused', 'stopped'] : ['running', 'paused'];
    if (!allowed.includes(vm.state)) {
      throw new HearthError('VM_INVALID_STATE', `Snapshotting VM "${vm.name}" failed: it is ${vm.state}.`, {
        detail: { state: vm.state, action: 'snapshot', allowedFrom: allowed },
      });
    }
    return this.take(vm, body.name, actor, scheduleId, kind, type);
  }

  /**
   * Takes a snapshot of a VM already checked (a user's running or paused VM, or a snapshot pool's
   * VM waiting in its pool): the record, then the host's files. Attached volumes are copied with
   * it at the same paused instant (decisions/0024). `scheduleId`: taken by that schedule. `disk`:
   * the root disk and volumes only. `diff`: the memory changed since the VM's last snapshot, whose
   * id the host reports and the record keeps as its base.
   */
  async take(
    vm: VmRow,
    wanted: string | undefined,
    actor: string,
    scheduleId: string | null = null,
    kind: SnapshotKind = 'memory',
    type: 'full' | 'diff' = 'full',
  ): Promise<Snapshot> {
    const host = await this.stores.hosts.require(vm.host_id!);
    const [kernel, image] = await Promise.all([
      this.stores.images.requireUnscoped(vm.kernel_id),
      this.stores.images.requireUnscoped(vm.image_id),
    ]);
    const volumes = (await this.stores.volumes.forVm(vm.id)).map((v) => v.id);
    const id = newId('snap');
    // Default: <vm>-<utc time>-<random>, within the name limit however long the VM's name is.
    const stamp = `${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase()}-${id.slice(-4)}`;
    const name = wanted ?? `${vm.name.slice(0, 62 - stamp.length)}-${stamp}`;
    let row;
    try {
      row = await this.deps.quotas.within(vm.project, { snapshots: 1 }, 'Snapshotting', (tx) =>
        this.stores.snapshots.insert(
          {
            id,
            name,
            project: vm.project,
            vm_id: vm.id,
            vm_name: vm.name,
            host_id: host.id,
            parent_id: vm.snapshot_id,
            vmm: vm.vmm ?? 'qemu',
            kernel_id: kernel.id,
            kernel_sha256: kernel.sha256,
            image_id: image.id,
            image_sha256: image.sha256,
            vcpus: vm.vcpus,
            memory_mib: vm.memory_mib,
            disk_mib: vm.disk_mib,
            env: vm.env ?? {},
            guest: { secret: vm.guest?.secret ?? '', users: vm.guest?.users ?? [] },
            networks: (vm.nics ?? []).map((n) => n.network),
            volumes,
            schedule_id: scheduleId,
            kind,
          },
          tx,
        ),
      );
    } catch (e) {
      if (isUniqueViolation(e, 'snapshots_project_name')) {
        throw new HearthError(
          'SNAPSHOT_NAME_TAKEN',
          `Snapshotting failed: project "${vm.project}" already has a snapshot named "${name}".`,
          {
            fields: { name: ['already taken'] },
          },
        );
      }
      throw e;
    }
    const t0 = performance.now();
    let base: string | null = null;
    try {
      const r = await this.deps.agents.snapshot(host, vm.id, id, kind, volumes, type).catch((e: unknown) => {
        timings.emit('snapshot', (performance.now() - t0) / 1000, false);
        throw e;
      });
      timings.emit('snapshot', (performance.now() - t0) / 1000, true);
      if (r.base && !(await this.stores.snapshots.get(r.base, vm.project))) {
        // The VM's last snapshot was one Hearth does not keep (a move's or an import's): a diff
        // on it could never be restored, so it goes at once.
        await this.deps.agents.deleteSnapshot(host, id).catch(() => undefined);
        throw diffRefusal(
          `Snapshotting VM "${vm.name}" failed: its last snapshot (${r.base}) is not a snapshot of this project that Hearth keeps, so a diff on it could not be restored; take a full snapshot first.`,
          vm.vmm ?? 'qemu',
          'no base snapshot on record',
        );
      }
      await this.stores.snapshots.markReady(id, {
        sizeBytes: r.sizeBytes,
        vmmVersion: r.vmmVersion,
        type: r.type,
        files: r.fileSums,
        base: r.base ?? null,
      });
      base = r.base ?? null;
    } catch (e) {
      // Nothing half-made: no record without files.
      await this.stores.snapshots.delete(row.id);
      throw e;
    }
    await this.stores.vms.addEvent(
      vm.id,
      'snapshot',
      actor,
      `${kind === 'disk' ? 'disk-only snapshot' : type === 'diff' ? 'diff snapshot' : 'snapshot'} ${name} (${id}) taken${base ? ` on top of ${base}` : ''}`,
      vm.state,
    );
    return snapshotFromRow(await this.stores.snapshots.requireUnscoped(id));
  }

  async get(idOrName: string, project: string): Promise<Snapshot> {
    return snapshotFromRow(await this.stores.snapshots.require(idOrName, project));
  }

  /** Refused (SNAPSHOT_IN_USE) while a diff snapshot builds on it: the diff holds only changed memory. */
  async delete(idOrName: string, project: string): Promise<Snapshot> {
    const row = await this.stores.snapshots.require(idOrName, project);
    const dependents = await this.stores.snapshots.dependents(row.id);
    if (dependents.length) {
      throw snapshotInUse(
        row.name,
        dependents.map((d) => d.id),
        dependents.map((d) => `${d.name} (${d.id})`),
      );
    }
    const host = await this.stores.hosts.get(row.host_id);
    if (host) await this.deps.agents.deleteSnapshot(host, row.id);
    await this.stores.snapshots.delete(row.id);
    return snapshotFromRow(row);
  }

  /** A new VM from a snapshot of `project`, in the same project. */
  async clone(
    idOrName: string,
    project: string,
    body: { name?: string | undefined; labels?: Record<string, string> | undefined },
    actor: string,
  ): Promise<Vm> {
    const snap = await this.stores.snapshots.require(idOrName, project);
    return this.deps.vms.createFromSnapshot(
      snap,
      { name: body.name, labels: body.labels, project: snap.project },
      actor,
    );
  }

  /** Both the VM and the snapshot are found in `project`. */
  async restoreInPlace(vmIdOrName: string, project: string, snapshot: string, actor: string): Promise<Vm> {
    const snap = await this.stores.snapshots.require(snapshot, project);
    return this.deps.vms.restoreInPlace(vmIdOrName, project, snap, actor);
  }
}
