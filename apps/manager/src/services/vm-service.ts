import type { Logger } from 'pino';
import {
  actionRule,
  canTransition,
  HearthError,
  newId,
  parseDuration,
  parseSize,
  type AgentVmSpec,
  type AgentVmStatus,
  type CreateVmBody,
  type PatchVmBody,
  type Vm,
  type VmAction,
  type PortMapping,
  type VmState,
} from '@hearth/contract';
import { isUniqueViolation } from '../db/index.ts';
import { vmFromRow, type HostRow, type VmRow } from '../store/mappers.ts';
import type { Stores } from '../store/index.ts';
import type { AgentClient } from './agent-client.ts';
import type { VmBus } from './bus.ts';
import type { NetworkService, NicPlan } from './network-service.ts';
import { placeVm } from './scheduler.ts';
import { assertRestorable } from './snapshot-checks.ts';
import type { SnapshotRow } from '../store/snapshots.ts';
import type { NewVm } from '../store/vms.ts';
import { hashPassword } from './password.ts';
import { randomBytes } from 'node:crypto';
import type { ImageService } from '../images/image-service.ts';
import { appFromImage } from '../images/app-spec.ts';

/** The reason a VM carries while it is being restored; the reconciler recognises it. */
const RESTORING = 'restoring snapshot';

export interface VmServiceDeps {
  stores: Stores;
  agents: AgentClient;
  bus: VmBus;
  log: Logger;
  networks: NetworkService;
  /** Builds runtime images (`runtime-node22`) on first use; absent in tests that need none. */
  images?: ImageService;
}

type CreateInput = Required<Pick<CreateVmBody, 'project' | 'vcpus' | 'memoryMib' | 'start'>> & CreateVmBody;

const DEFAULT_DISK_BYTES = 2 ** 30;
const MAX_DISK_BYTES = 4 * 2 ** 40;

/** VM lifecycle: validation, placement, the state machine's side effects, and reconciliation. */
export class VmService {
  private readonly ops = new Map<string, Promise<void>>();

  constructor(private readonly d: VmServiceDeps) {}

  private get s() {
    return this.d.stores;
  }

  async create(body: CreateInput, actor: string): Promise<Vm> {
    if (body.snapshot !== undefined) {
      const settable = [
        'image',
        'kernel',
        'diskSize',
        'diskGib',
        'env',
        'user',
        'password',
        'sshKeys',
        'timeout',
        'vmm',
        'network',
        'networks',
      ] as const;
      const given = settable.filter((k) => body[k] !== undefined);
      if (given.length || body.start === false) {
        throw new HearthError(
          'VALIDATION_FAILED',
          'Creating the VM failed: a clone takes its image, kernel, disk, credentials and VMM from the snapshot.',
          {
            fields: Object.fromEntries(
              [...given, ...(body.start === false ? ['start'] : [])].map((k) => [
                k,
                ['not allowed with snapshot'],
              ]),
            ),
          },
        );
      }
      const snap = await this.s.snapshots.require(body.snapshot);
      return this.createFromSnapshot(
        snap,
        { name: body.name, project: body.project, labels: body.labels },
        actor,
      );
    }
    const imageName = body.image ?? 'base';
    const image =
      (await this.s.images.get(imageName)) ??
      (await this.d.images?.runtimes.resolve(imageName)) ??
      (await this.s.images.require(imageName, 'image'));
    if (image.status === 'pending') {
      throw new HearthError(
        'IMAGE_NOT_READY',
        `Creating the VM failed: image "${image.name}" has no content yet (upload it first).`,
        { fields: { image: ['image content not uploaded'] } },
      );
    }
    const kernel = await this.s.images.require(body.kernel ?? 'kernel-default', 'kernel');
    if (image.kind !== 'rootfs') {
      throw new HearthError(
        'IMAGE_KIND_MISMATCH',
        `Creating the VM failed: image "${image.name}" is a ${image.kind}, not a rootfs.`,
        {
          fields: { image: ['not a rootfs image'] },
        },
      );
    }
    if (kernel.kind !== 'kernel') {
      throw new HearthError(
        'IMAGE_KIND_MISMATCH',
        `Creating the VM failed: kernel "${kernel.name}" is a ${kernel.kind}, not a kernel.`,
        {
          fields: { kernel: ['not a kernel image'] },
        },
      );
    }
    let diskBytes = DEFAULT_DISK_BYTES;
    if (body.diskSize !== undefined) {
      const parsed = parseSize(body.diskSize);
      if (parsed === null || parsed <= 0) {
        throw new HearthError(
          'VALIDATION_FAILED',
          `Creating the VM failed: diskSize "${body.diskSize}" is not a size.`,
          {
            fields: { diskSize: ['must look like 2gb or 512mib'] },
          },
        );
      }
      diskBytes = parsed;
    } else if (body.diskGib !== undefined) diskBytes = body.diskGib * 2 ** 30;
    if (diskBytes > MAX_DISK_BYTES) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Creating the VM failed: a ${body.diskSize ?? `${body.diskGib}gib`} disk is larger than the 4 TiB limit.`,
        {
          fields: { [body.diskSize !== undefined ? 'diskSize' : 'diskGib']: ['at most 4tib'] },
        },
      );
    }
    const imageBytes = Number(image.size_bytes);
    if (diskBytes < imageBytes) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Creating the VM failed: the disk (${diskBytes} bytes) is smaller than image "${image.name}" (${imageBytes} bytes).`,
        {
          fields: { diskSize: [`at least ${Math.ceil(imageBytes / 2 ** 20)}mib`] },
        },
      );
    }
    const plans = await this.d.networks.plan(body);
    const placement = placeVm(await this.s.hosts.all(), { ...body, net: this.d.networks.needs(plans) });
    // Parsed input: protocol defaults are applied.
    const ports = (body.ports ?? []) as PortMapping[];
    if (ports.length) await this.assertPortsFree(placement.host.id, null, ports, 'Creating the VM');
    const guest = {
      secret: randomBytes(24).toString('base64url'),
      users:
        body.user || body.password || body.sshKeys?.length
          ? [
              {
                name: body.user ?? 'root',
                passwordHash: body.password ? await hashPassword(body.password) : null,
                sshKeys: body.sshKeys ?? [],
              },
            ]
          : [],
    };
    const row = await this.insertVm({
      name: body.name,
      project: body.project,
      desiredState: body.start ? 'running' : 'stopped',
      vcpus: body.vcpus,
      memoryMib: body.memoryMib,
      diskMib: Math.ceil(diskBytes / 2 ** 20),
      imageId: image.id,
      kernelId: kernel.id,
      vmm: placement.vmm,
      hostId: placement.host.id,
      env: body.env ?? {},
      labels: body.labels ?? {},
      timeout: body.timeout ?? null,
      guest,
      snapshotId: null,
      ports,
      egress: (body.egress ?? null) as Vm['egress'] | null,
      bandwidthMbit: body.bandwidthMbit ?? null,
      plans,
    });
    const id = row.id;
    await this.s.vms.addEvent(
      id,
      'created',
      actor,
      `placed on ${placement.host.name} (${placement.vmm})`,
      'creating',
    );
    const next = body.start ? 'starting' : 'created';
    const moved = await this.move(row, next, actor, { reason: null });
    if (body.start && moved) this.track(id, () => this.runStart(moved, actor));
    return vmFromRow(moved ?? row);
  }

  /** Inserts a VM row with a fresh id and the next free address (retrying address races). */
  private async insertVm(
    v: Omit<NewVm, 'id' | 'name' | 'state' | 'ip' | 'mac'> & { name: string | undefined; plans: NicPlan[] },
  ): Promise<VmRow> {
    const name = v.name ?? `vm-${newId('vm').slice(-6)}`;
    const id = newId('vm');
    const { plans, ...fields } = v;
    try {
      await this.s.vms.insert({ ...fields, id, name, state: 'creating', ip: null, mac: null });
    } catch (e) {
      if (isUniqueViolation(e, 'vms_project_name')) {
        throw new HearthError(
          'VM_NAME_TAKEN',
          `Creating the VM failed: project "${v.project}" already has a VM named "${name}".`,
          { fields: { name: ['already taken'] } },
        );
      }
      throw e;
    }
    try {
      await this.d.networks.allocate(id, plans);
    } catch (e) {
      // No address, no VM: nothing of it is left behind.
      await this.s.vms.remove(id);
      throw e;
    }
    return this.s.vms.require(id);
  }

  /**
   * A new VM running from a snapshot (a clone): the snapshot's host, resources, disk and guest
   * secret, with its own id, name, MAC and address, applied inside the guest after restore.
   */
  async createFromSnapshot(
    snap: SnapshotRow,
    body: { name?: string | undefined; project: string; labels?: Record<string, string> | undefined },
    actor: string,
  ): Promise<Vm> {
    await assertRestorable(this.s, snap);
    const host = await this.s.hosts.require(snap.host_id);
    if (host.state !== 'ready') {
      throw new HearthError(
        'NO_HOST_AVAILABLE',
        `Restoring failed: host ${host.name}, which holds the snapshot, is ${host.state}.`,
      );
    }
    const row = await this.insertVm({
      name: body.name,
      project: body.project,
      desiredState: 'running',
      vcpus: snap.vcpus,
      memoryMib: snap.memory_mib,
      diskMib: snap.disk_mib,
      imageId: snap.image_id,
      kernelId: snap.kernel_id,
      vmm: snap.vmm,
      hostId: snap.host_id,
      env: snap.env ?? {},
      labels: body.labels ?? {},
      timeout: null,
      guest: snap.guest,
      snapshotId: snap.id,
      egress: null,
      bandwidthMbit: null,
      // The same networks as the VM it was taken of (the saved devices must match), new addresses.
      plans: await this.clonePlans(snap),
    });
    await this.s.vms.addEvent(
      row.id,
      'created',
      actor,
      `cloned from snapshot ${snap.name} (${snap.id})`,
      'creating',
    );
    const moved = await this.move(row, 'starting', actor, { reason: `${RESTORING} ${snap.name}` });
    if (moved) this.track(row.id, () => this.runRestore(moved, snap.id, actor));
    return vmFromRow(moved ?? row);
  }

  private async clonePlans(snap: SnapshotRow): Promise<NicPlan[]> {
    const ids = snap.networks ?? [];
    if (!ids.length) return this.d.networks.plan({});
    return this.d.networks.plan({ networks: ids });
  }

  /** Puts a VM back to a snapshot of itself: memory, devices and disk as they were then. */
  async restoreInPlace(idOrName: string, snap: SnapshotRow, actor: string): Promise<Vm> {
    const row = await this.s.vms.require(idOrName);
    if (snap.vm_id !== row.id) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Restoring VM "${row.name}" failed: snapshot ${snap.name} was taken of another VM; clone it with POST /v1/snapshots/${snap.id}/restore.`,
        { fields: { snapshot: ['not a snapshot of this VM'] } },
      );
    }
    await assertRestorable(this.s, snap);
    if (row.vcpus !== snap.vcpus || row.memory_mib !== snap.memory_mib || row.disk_mib !== snap.disk_mib) {
      throw new HearthError(
        'SNAPSHOT_INCOMPATIBLE',
        `Restoring VM "${row.name}" failed: it was resized since snapshot ${snap.name} (${snap.vcpus} vCPU, ${snap.memory_mib} MiB then; ${row.vcpus} vCPU, ${row.memory_mib} MiB now).`,
        { detail: { reason: 'resized' } },
      );
    }
    if ((await this.s.volumes.forVm(row.id)).length) {
      throw new HearthError(
        'SNAPSHOT_INCOMPATIBLE',
        `Restoring VM "${row.name}" failed: volumes were attached since the snapshot; detach them first.`,
        { detail: { reason: 'volumes attached' } },
      );
    }
    const rule = actionRule('restore');
    if (!rule.from.includes(row.state)) {
      throw new HearthError('VM_INVALID_STATE', `Cannot restore VM "${row.name}": it is ${row.state}.`, {
        detail: { state: row.state, action: 'restore', allowedFrom: rule.from },
      });
    }
    const moved = await this.move(row, rule.enters, actor, {
      desiredState: 'running',
      reason: `${RESTORING} ${snap.name}`,
    });
    if (!moved)
      throw new HearthError('VM_BUSY', `Cannot restore VM "${row.name}": it changed state meanwhile.`);
    await this.s.vms.setSnapshotOrigin(row.id, snap.id);
    this.track(row.id, () => this.runRestore({ ...moved, snapshot_id: snap.id }, snap.id, actor));
    return vmFromRow(moved);
  }

  private async runRestore(row: VmRow, snapshotId: string, actor: string): Promise<void> {
    try {
      const st = await this.d.agents.restore(await this.host(row), await this.spec(row), snapshotId);
      await this.applyStatus(row, st, actor);
    } catch (e) {
      await this.fail(row, actor, 'Restoring the snapshot failed', e);
    }
  }

  /** One host port and protocol belongs to one VM per host. */
  private async assertPortsFree(
    hostId: string,
    vmId: string | null,
    ports: PortMapping[],
    what: string,
  ): Promise<void> {
    const taken = new Map<string, string>();
    for (const other of await this.s.vms.portsOnHost(hostId, vmId)) {
      for (const p of other.ports) taken.set(`${p.host}/${p.protocol}`, other.name);
    }
    const clash = ports.find((p) => taken.has(`${p.host}/${p.protocol}`));
    if (clash) {
      const owner = taken.get(`${clash.host}/${clash.protocol}`);
      throw new HearthError(
        'PORT_TAKEN',
        `${what} failed: host port ${clash.host}/${clash.protocol} is published by VM "${owner}".`,
        {
          fields: { ports: [`${clash.host}/${clash.protocol} is taken`] },
          detail: { vm: owner },
        },
      );
    }
  }

  /** The agent's view of a VM: what a snapshot records so that a clone can be built from it. */
  specFor(row: VmRow): Promise<AgentVmSpec> {
    return this.spec(row);
  }

  async get(idOrName: string): Promise<Vm> {
    return vmFromRow(await this.s.vms.require(idOrName));
  }

  /** Moves the VM and publishes the change; null when it was no longer in `row.state`. */
  private async move(
    row: VmRow,
    to: VmState,
    actor: string,
    patch: Parameters<Stores['vms']['transition']>[4] = {},
  ): Promise<VmRow | null> {
    if (!canTransition(row.state, to)) {
      throw new HearthError(
        'INTERNAL',
        `Changing VM ${row.id} from ${row.state} to ${to} is not a legal transition.`,
      );
    }
    const out = await this.s.vms.transition(row.id, row.state, to, actor, patch);
    if (!out) return null;
    this.d.bus.publish(vmFromRow(out.vm));
    return out.vm;
  }

  private track(id: string, fn: () => Promise<void>): void {
    const p = fn()
      .catch((e: Error) => this.d.log.error({ vm: id, err: e }, 'VM operation crashed'))
      .finally(() => {
        if (this.ops.get(id) === p) this.ops.delete(id);
      });
    this.ops.set(id, p);
  }

  /**
   * Resolves when every operation in flight has finished (shutdown, tests), or after `timeoutMs`;
   * true when all finished.
   */
  async drain(timeoutMs = Infinity): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((r) => {
      if (timeoutMs !== Infinity) timer = setTimeout(() => r(false), timeoutMs);
    });
    try {
      while (this.ops.size) {
        const all = Promise.allSettled([...this.ops.values()]).then(() => true as const);
        if (!(await Promise.race([all, late]))) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Operations in flight (shutdown logs them). */
  inFlight(): string[] {
    return [...this.ops.keys()];
  }

  /**
   * The VM's host must have an agent this manager has heard from before a lifecycle call changes
   * the record: waits for it (bounded), else HOST_UNAVAILABLE (503, Retry-After) with nothing changed.
   */
  private async hostReachable(row: VmRow, what: string): Promise<void> {
    if (!row.host_id) return;
    await this.d.agents.ready(await this.host(row), what);
  }

  private async host(row: VmRow): Promise<HostRow> {
    if (!row.host_id) throw new HearthError('NO_HOST_AVAILABLE', `VM ${row.id} has no host.`);
    return this.s.hosts.require(row.host_id);
  }

  private async spec(row: VmRow): Promise<AgentVmSpec> {
    const [image, kernel] = await Promise.all([
      this.s.images.require(row.image_id),
      this.s.images.require(row.kernel_id),
    ]);
    const initrdName = typeof kernel.meta.initrd === 'string' ? kernel.meta.initrd : null;
    const initrd = initrdName ? await this.s.images.require(initrdName) : null;
    const asInit = image.meta.init === 'hearth-guest';
    return {
      id: row.id,
      name: row.name,
      vcpus: row.vcpus,
      memoryMib: row.memory_mib,
      diskMib: row.disk_mib,
      vmm: row.vmm ?? 'qemu',
      kernel: { id: kernel.id, path: kernel.path, sha256: kernel.sha256 },
      initrd: initrd ? { id: initrd.id, path: initrd.path, sha256: initrd.sha256 } : null,
      rootfs: { id: image.id, path: image.path, sha256: image.sha256 },
      bootMarker: typeof image.meta.bootMarker === 'string' ? image.meta.bootMarker : null,
      // Images without an init of their own (OCI images) boot the guest agent as PID 1.
      bootArgs:
        (typeof kernel.meta.cmdline === 'string' ? kernel.meta.cmdline : 'console=ttyS0 root=/dev/vda rw') +
        (asInit ? ' init=/usr/sbin/hearth-guest' : ''),
      env: row.env,
      guest: row.guest?.secret
        ? {
            secret: row.guest.secret,
            users: row.guest.users ?? [],
            app: asInit ? appFromImage(image.meta, row.env) : null,
          }
        : null,
      volumes: (await this.s.volumes.forVm(row.id)).map((v) => ({ id: v.id, readOnly: v.read_only })),
      ports: row.ports ?? [],
      nics: row.host_id ? await this.d.networks.agentNics(row.id, row.host_id) : [],
      egress: row.egress ?? null,
      bandwidthMbit: row.bandwidth_mbit ?? null,
    };
  }

  /** Applies what the agent says happened to a VM that is in `row.state`. */
  private async applyStatus(row: VmRow, st: AgentVmStatus, actor: string): Promise<VmRow | null> {
    const target: Partial<Record<AgentVmStatus['phase'], VmState>> = {
      running: 'running',
      paused: 'paused',
      stopped: 'stopped',
      failed: 'failed',
    };
    const to = target[st.phase];
    if (!to || !canTransition(row.state, to)) {
      // What the agent saw does not follow from where the record is (say, a push racing a restart):
      // leave it to the next heartbeat rather than fail the request.
      if (to) this.d.log.warn({ vm: row.id, from: row.state, to }, 'ignoring an out-of-order agent status');
      return null;
    }
    switch (st.phase) {
      case 'running': {
        const dur = row.timeout ? parseDuration(row.timeout) : null;
        const startedAt = st.startedAt ? new Date(st.startedAt) : new Date();
        return this.move(row, 'running', actor, {
          reason: null,
          pid: st.pid,
          accel: st.accel,
          startedAt,
          stopAt: dur ? new Date(startedAt.getTime() + dur) : null,
        });
      }
      case 'paused':
        return this.move(row, 'paused', actor, { reason: null, pid: st.pid });
      case 'stopped':
        return this.move(row, 'stopped', actor, {
          reason: st.reason,
          pid: null,
          startedAt: null,
          stopAt: null,
        });
      case 'failed':
        return this.move(row, 'failed', actor, {
          reason: st.reason ?? 'failed',
          pid: null,
          startedAt: null,
          stopAt: null,
        });
      default:
        return null;
    }
  }

  private async fail(row: VmRow, actor: string, what: string, e: unknown): Promise<void> {
    if (hostAway(e)) {
      // Nothing is known about the VM while its agent cannot be reached: the record stays as it is
      // (with its desired state) and the reconciler drives it again once the host heartbeats.
      this.d.log.warn(
        { vm: row.id, state: row.state, err: (e as Error).message },
        'host unreachable; the operation resumes when its agent is back',
      );
      return;
    }
    const reason = `${what}: ${(e as Error).message}`;
    this.d.log.warn({ vm: row.id, reason }, 'VM operation failed');
    await this.move(row, 'failed', actor, { reason, pid: null });
  }

  private async runStart(row: VmRow, actor: string): Promise<void> {
    try {
      const spec = await this.spec(row);
      const st = await this.d.agents.start(await this.host(row), spec);
      const out = await this.applyStatus(row, st, actor);
      if (out?.state === 'running') {
        await this.catchUpNetPolicy(out, spec);
        void this.learnDhcp(out);
      }
      if (!out && st.phase === 'starting') this.d.log.warn({ vm: row.id }, 'agent still starting the VM');
    } catch (e) {
      await this.fail(row, actor, 'Starting the VM failed', e);
    }
  }

  /**
   * Ports, egress or bandwidth changed while the VM was booting (the agent did not know it yet):
   * the record is the truth, so the host gets it now.
   */
  private async catchUpNetPolicy(row: VmRow, booted: AgentVmSpec): Promise<void> {
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
    await this.d.agents
      .json(await this.host(row), 'PUT', `/agent/v1/vms/${row.id}/net-policy`, want)
      .catch((e: Error) =>
        this.d.log.warn({ vm: row.id, err: e.message }, 'applying changed network settings failed'),
      );
  }

  /**
   * A NIC on a DHCP network gets its address from the LAN's server after boot: ask the guest
   * agent until it reports one per DHCP NIC (matched by MAC), for up to a minute.
   */
  private async learnDhcp(row: VmRow): Promise<void> {
    if (!(await this.d.networks.hasDhcp(row.id))) return;
    const host = await this.host(row);
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const cur = await this.s.vms.get(row.id);
      if (cur?.state !== 'running') return;
      try {
        const info = await this.d.agents.json<{ ips: { mac?: string; address: string }[] }>(
          host,
          'GET',
          `/agent/v1/vms/${row.id}/guest`,
        );
        if (await this.d.networks.learn(row.id, info.ips)) {
          const now = await this.s.vms.get(row.id);
          if (now) this.d.bus.publish(vmFromRow(now));
          return;
        }
      } catch (e) {
        this.d.log.debug({ vm: row.id, err: (e as Error).message }, 'guest has no DHCP address yet');
      }
    }
    this.d.log.warn({ vm: row.id }, 'a DHCP NIC got no address within a minute');
  }

  /** Re-issues the agent call of an interrupted transition; every agent call is idempotent. */
  private redrive(row: VmRow): void {
    this.d.log.info({ vm: row.id, state: row.state }, 'resuming an interrupted operation');
    this.track(row.id, async () => {
      try {
        const host = await this.host(row);
        // A restore interrupted by a manager restart is re-driven as a restore, never as a cold
        // boot that would silently drop the snapshot's memory and disk.
        if (row.state === 'starting' && row.snapshot_id && row.state_reason?.startsWith(RESTORING)) {
          return void (await this.runRestore(row, row.snapshot_id, 'reconciler'));
        }
        if (row.state === 'starting') return void (await this.runStart(row, 'reconciler'));
        const st =
          row.state === 'stopping'
            ? await this.d.agents.stop(host, row.id, false, 30_000)
            : row.state === 'pausing'
              ? await this.d.agents.pause(host, row.id)
              : await this.d.agents.resume(host, row.id);
        await this.applyStatus(row, st, 'reconciler');
      } catch (e) {
        await this.fail(row, 'reconciler', `Resuming the interrupted ${row.state} failed`, e);
      }
    });
  }

  async action(
    idOrName: string,
    action: Exclude<VmAction, 'delete'>,
    actor: string,
    opts: { force?: boolean; timeoutSeconds?: number } = {},
  ): Promise<Vm> {
    const row = await this.s.vms.require(idOrName);
    const rule = actionRule(action);
    if (!rule.from.includes(row.state)) {
      throw new HearthError('VM_INVALID_STATE', `Cannot ${action} VM "${row.name}": it is ${row.state}.`, {
        detail: { state: row.state, action, allowedFrom: rule.from },
      });
    }
    await this.hostReachable(row, `${ACTING[action]} VM "${row.name}"`);
    const desired = action === 'stop' ? 'stopped' : action === 'pause' ? 'paused' : 'running';
    const moved = await this.move(row, rule.enters, actor, { desiredState: desired, reason: null });
    if (!moved)
      throw new HearthError('VM_BUSY', `Cannot ${action} VM "${row.name}": it changed state meanwhile.`);
    const force = opts.force ?? false;
    const timeoutMs = (opts.timeoutSeconds ?? 30) * 1000;
    this.track(row.id, async () => {
      const host = await this.host(moved);
      try {
        if (action === 'start') return void (await this.runStart(moved, actor));
        if (action === 'pause')
          return void (await this.applyStatus(moved, await this.d.agents.pause(host, row.id), actor));
        if (action === 'resume')
          return void (await this.applyStatus(moved, await this.d.agents.resume(host, row.id), actor));
        const st = await this.d.agents.stop(host, row.id, force, timeoutMs);
        const stopped = await this.applyStatus(moved, st, actor);
        if (action === 'restart' && stopped?.state === 'stopped') {
          const starting = await this.move(stopped, 'starting', actor, { reason: 'restart' });
          if (starting) await this.runStart(starting, actor);
        }
      } catch (e) {
        const current = await this.s.vms.get(row.id);
        if (current && current.state === moved.state)
          await this.fail(current, actor, `${cap(action)} failed`, e);
      }
    });
    return vmFromRow(moved);
  }

  async patch(idOrName: string, body: PatchVmBody, actor: string): Promise<Vm> {
    const row = await this.s.vms.require(idOrName);
    const cols: Record<string, unknown> = {};
    if (
      (body.vcpus !== undefined && body.vcpus !== row.vcpus) ||
      (body.memoryMib !== undefined && body.memoryMib !== row.memory_mib)
    ) {
      if (!['created', 'stopped', 'failed'].includes(row.state)) {
        throw new HearthError(
          'VM_RESIZE_REQUIRES_STOP',
          `Resizing VM "${row.name}" failed: it is ${row.state}.`,
        );
      }
      const host = await this.host(row);
      if (body.vcpus !== undefined && body.vcpus > host.inventory.cpus) {
        throw new HearthError(
          'VCPUS_EXCEED_HOST',
          `Resizing VM "${row.name}" failed: its host has ${host.inventory.cpus} CPUs.`,
          {
            fields: { vcpus: [`at most ${host.inventory.cpus}`] },
          },
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
        await this.assertPortsFree(row.host_id, row.id, ports, `Publishing ports of VM "${row.name}"`);
      cols.ports = ports;
    }
    if (body.egress !== undefined) cols.egress = body.egress;
    if (body.bandwidthMbit !== undefined) cols.bandwidth_mbit = body.bandwidthMbit;
    if (
      cols.name !== undefined &&
      cols.name !== row.name &&
      (await this.s.vms.get(String(cols.name), row.project))
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
        await this.d.agents
          .json(await this.host(row), 'PUT', `/agent/v1/vms/${row.id}/net-policy`, {
            ports: (cols.ports ?? row.ports ?? []) as PortMapping[],
            egress: (cols.egress ?? row.egress ?? null) as Vm['egress'] | null,
            bandwidthMbit: ('bandwidth_mbit' in cols ? cols.bandwidth_mbit : row.bandwidth_mbit) ?? null,
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
      const dur = body.timeout ? parseDuration(body.timeout) : null;
      cols.stop_at = dur && row.started_at ? new Date(new Date(row.started_at).getTime() + dur) : null;
    }
    if (Object.keys(cols).length === 0) return vmFromRow(row);
    try {
      const updated = await this.s.vms.update(
        row.id,
        cols,
        resizing ? ['created', 'stopped', 'failed'] : undefined,
      );
      if (!updated) {
        throw new HearthError(
          'VM_RESIZE_REQUIRES_STOP',
          `Resizing VM "${row.name}" failed: it was started meanwhile.`,
        );
      }
      await this.s.vms.addEvent(row.id, 'patched', actor, Object.keys(cols).join(', '));
      const vm = vmFromRow(updated);
      this.d.bus.publish(vm);
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

  async delete(idOrName: string, actor: string): Promise<Vm> {
    const row = await this.s.vms.require(idOrName);
    if (
      !actionRule('delete').from.includes(row.state) &&
      !(row.state === 'deleting' && !this.ops.has(row.id))
    ) {
      throw new HearthError('VM_INVALID_STATE', `Cannot delete VM "${row.name}": it is ${row.state}.`, {
        detail: { state: row.state, action: 'delete', allowedFrom: actionRule('delete').from },
      });
    }
    await this.hostReachable(row, `Deleting VM "${row.name}"`);
    const moved =
      row.state === 'deleting' ? row : await this.move(row, 'deleting', actor, { desiredState: 'deleted' });
    if (!moved)
      throw new HearthError('VM_BUSY', `Cannot delete VM "${row.name}": it changed state meanwhile.`);
    // An operation still in flight (a boot, say) finishes first, so the agent never boots a VM
    // after it was deleted.
    const inFlight = this.ops.get(row.id);
    this.track(row.id, async () => {
      await inFlight?.catch(() => undefined);
      await this.runDelete(moved, actor);
    });
    return vmFromRow(moved);
  }

  private async runDelete(row: VmRow, actor: string): Promise<void> {
    try {
      if (row.host_id) await this.d.agents.delete(await this.host(row), row.id);
      await this.s.vms.remove(row.id);
      await this.s.snapshots.detachVm(row.id);
      await this.s.volumes.detachAll(row.id);
      this.d.bus.gone(row.id);
      this.d.log.info({ vm: row.id, actor }, 'VM deleted');
    } catch (e) {
      await this.fail(row, actor, 'Deleting the VM failed', e);
    }
  }

  async logs(idOrName: string, tail: number): Promise<string> {
    const row = await this.s.vms.require(idOrName);
    if (!row.host_id) return '';
    return this.d.agents.logs(await this.host(row), row.id, tail).catch((e: HearthError) => {
      if (e.code === 'AGENT_ERROR') return '';
      throw e;
    });
  }

  /** Long poll: resolves when the VM reaches `target`, rejects when it fails, vanishes or times out. */
  async wait(idOrName: string, target: VmState, timeoutS: number): Promise<Vm> {
    const row = await this.s.vms.require(idOrName);
    const id = row.id;
    return new Promise<Vm>((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.d.bus.off('vm', onVm);
        this.d.bus.off('gone', onGone);
        fn();
      };
      const check = (vm: Vm) => {
        if (vm.state === target) done(() => resolve(vm));
        else if (vm.state === 'failed') {
          done(() =>
            reject(
              new HearthError(
                'VM_FAILED',
                `Waiting for VM "${vm.name}" to be ${target} failed: it failed. ${firstLine(vm.stateReason)}`,
                {
                  detail: { state: vm.state, reason: vm.stateReason },
                },
              ),
            ),
          );
        }
      };
      const onVm = (vm: Vm) => vm.id === id && check(vm);
      const onGone = (gone: string) =>
        gone === id &&
        done(() =>
          reject(new HearthError('VM_NOT_FOUND', `Waiting for VM "${row.name}" failed: it was deleted.`)),
        );
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new HearthError(
                'WAIT_TIMEOUT',
                `Waiting for VM "${row.name}" to be ${target} timed out after ${timeoutS} s.`,
              ),
            ),
          ),
        timeoutS * 1000,
      );
      this.d.bus.on('vm', onVm);
      this.d.bus.on('gone', onGone);
      // Re-read after subscribing so a change between the first read and now is not missed.
      void this.s.vms.get(id).then((fresh) => {
        if (!fresh) onGone(id);
        else check(vmFromRow(fresh));
      });
    });
  }

  /**
   * Brings the records in line with what an agent observes. `complete` lists are heartbeats
   * (a VM missing from it is gone from the host); pushes only carry what changed.
   */
  async reconcile(hostId: string, statuses: AgentVmStatus[], complete: boolean): Promise<void> {
    const byId = new Map(statuses.map((s) => [s.id, s]));
    const rows = complete
      ? await this.s.vms.onHost(hostId)
      : await Promise.all(statuses.map((s) => this.s.vms.get(s.id)));
    for (const row of rows) {
      if (!row || row.host_id !== hostId || this.ops.has(row.id)) continue;
      // A heartbeat assembled before a just-finished operation must not undo it (age by the DB's clock).
      if (complete && row.age_ms !== undefined && Number(row.age_ms) < 2000) continue;
      try {
        await this.reconcileOne(row, byId.get(row.id), complete);
      } catch (e) {
        this.d.log.error({ vm: row.id, err: e }, 'reconciling a VM failed');
      }
    }
  }

  private async reconcileOne(row: VmRow, st: AgentVmStatus | undefined, complete: boolean): Promise<void> {
    // A transitional state with no operation in flight was interrupted (manager restart): drive it again.
    if (row.state === 'deleting') {
      this.track(row.id, () => this.runDelete(row, 'reconciler'));
      return;
    }
    if (complete && ['starting', 'stopping', 'pausing', 'resuming'].includes(row.state)) {
      this.redrive(row);
      return;
    }
    if (!st || st.phase === 'absent') {
      if (!complete || ['created', 'stopped', 'failed'].includes(row.state)) return;
      const reason =
        row.state === 'creating'
          ? 'creation was interrupted (manager restart); start it again'
          : 'the host no longer has this VM (host restarted or VM removed outside Hearth)';
      await this.move(row, 'failed', 'reconciler', { reason, pid: null, startedAt: null });
      return;
    }
    const same =
      (st.phase === 'running' && row.state === 'running') ||
      (st.phase === 'paused' && row.state === 'paused') ||
      (st.phase === 'stopped' && row.state === 'stopped') ||
      (st.phase === 'failed' && row.state === 'failed');
    if (same && st.phase === 'running' && st.pid !== null && row.pid !== null && st.pid !== row.pid) {
      // Same state, new VMM process: the guest rebooted and the agent booted it again.
      const startedAt = st.startedAt ? new Date(st.startedAt) : new Date();
      const dur = row.timeout ? parseDuration(row.timeout) : null;
      const updated = await this.s.vms.recordReboot(
        row.id,
        row.pid,
        st.pid,
        startedAt,
        dur ? new Date(startedAt.getTime() + dur) : null,
      );
      if (updated) this.d.bus.publish(vmFromRow(updated));
      return;
    }
    if (same || st.phase === 'starting' || st.phase === 'stopping') return;
    if (row.state === 'created' && st.phase === 'stopped') return;
    const out = await this.applyStatus(row, st, 'reconciler');
    if (out) this.d.log.info({ vm: row.id, from: row.state, to: out.state }, 'reconciled VM state');
  }

  /** Auto-stop for VMs whose `timeout` elapsed. */
  async stopExpired(): Promise<void> {
    for (const row of await this.s.vms.all()) {
      if (
        row.state === 'running' &&
        row.stop_at &&
        new Date(row.stop_at).getTime() <= Date.now() &&
        !this.ops.has(row.id) &&
        // A host that is away is not waited for here: the next tick after it is back stops the VM.
        (!row.host_id || this.d.agents.live.isLive(row.host_id))
      ) {
        await this.action(row.id, 'stop', 'timeout').catch((e: Error) =>
          this.d.log.warn({ vm: row.id, err: e.message }, 'auto-stop failed'),
        );
      }
    }
  }
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
const ACTING: Record<Exclude<VmAction, 'delete'>, string> = {
  start: 'Starting',
  stop: 'Stopping',
  restart: 'Restarting',
  pause: 'Pausing',
  resume: 'Resuming',
  restore: 'Restoring',
};
/** The agent could not be reached at all: says nothing about the VM. */
const hostAway = (e: unknown) =>
  e instanceof HearthError && (e.code === 'AGENT_UNREACHABLE' || e.code === 'HOST_UNAVAILABLE');
const firstLine = (s: string | null) => (s ?? '').split('\n')[0] ?? '';
