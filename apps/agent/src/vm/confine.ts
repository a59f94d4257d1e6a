import { chown, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentVmSpec } from '@hearth/contract';
import {
  createVmCgroup,
  describeCgroups,
  detectCgroups,
  removeVmCgroup,
  setVmCpuWeight,
  sweepEmptyVmCgroups,
  vmCgroupLeaf,
  vmCgroupLimits,
  BACKGROUND_CPU_WEIGHT,
  NORMAL_CPU_WEIGHT,
  type CgroupHost,
  type HostCheck,
  type VmmConfinement,
} from '@hearth/vmm';

/** How QEMU VMs are confined on this host (agent config `confine`). */
export interface ConfineConfig {
  /** One uid (and the same gid) per VM from this range; no host user needs to exist for them. */
  uidRange: [number, number];
  /** The VMs' parent cgroup (`<cgroup root>/<parent>/vm-<id>`). */
  cgroupParent: string;
  /** Memory a VM's cgroup allows beyond guest RAM, MiB (the VMM's own). */
  overheadMib: number;
  /** Where cgroup filesystems are mounted (tests point it elsewhere). */
  cgroupRoot: string;
}

/**
 * Far from login users, Debian's system ranges (libvirt-qemu is 64055), `/etc/subuid`'s usual
 * 100000+ blocks and the Firecracker jailer's 900000-965535.
 */
const CONFINE_DEFAULTS: ConfineConfig = {
  uidRange: [800_000, 865_535],
  cgroupParent: 'hearth.slice',
  overheadMib: 192,
  cgroupRoot: '/sys/fs/cgroup',
};

/**
 * Gives each QEMU VM its own uid (kept as the group of its run directory, so it survives agent
 * restarts and is never handed to two VMs) and its own cgroup sized from the VM. A host without
 * usable cgroups runs VMs without limits, said once in the log and in `hearth doctor`.
 */
export class VmConfiner {
  readonly cfg: ConfineConfig;
  private host: Promise<CgroupHost> | null = null;
  private readonly reserved = new Map<string, number>();
  private allocating: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly vmsDir: string,
    private readonly log: Logger,
    cfg: Partial<ConfineConfig> = {},
  ) {
    this.cfg = { ...CONFINE_DEFAULTS, ...cfg };
  }

  cgroups(): Promise<CgroupHost> {
    this.host ??= detectCgroups({ root: this.cfg.cgroupRoot, parent: this.cfg.cgroupParent }).then((h) => {
      if (h.mode === 'none')
        this.log.warn({ reason: h.reason }, `QEMU VMs get no cgroup limits: ${describeCgroups(h)}`);
      else this.log.info(describeCgroups(h));
      return this.ownLeaves()
        .then((mine) => sweepEmptyVmCgroups(h, mine))
        .then((removed) => {
          if (removed.length)
            this.log.info({ removed }, 'removed the cgroups of VMs that ended while no agent ran');
          return h;
        });
    });
    return this.host;
  }

  /** The cgroup leaves of the VMs this agent keeps (its run directories). */
  private async ownLeaves(): Promise<Set<string>> {
    const ids = await readdir(this.vmsDir).catch(() => [] as string[]);
    return new Set(ids.map(vmCgroupLeaf));
  }

  /** The VM's uid: its run directory's group when already given one, else the lowest free. */
  uidFor(spec: AgentVmSpec): Promise<number> {
    const next = this.allocating.then(() => this.allocate(spec.id));
    this.allocating = next.catch(() => undefined);
    return next;
  }

  private inRange(id: number): boolean {
    return id >= this.cfg.uidRange[0] && id <= this.cfg.uidRange[1];
  }

  private async allocate(vmId: string): Promise<number> {
    const dir = join(this.vmsDir, vmId);
    const own = (await stat(dir)).gid;
    if (this.inRange(own)) {
      this.reserved.set(vmId, own);
      return own;
    }
    const used = new Set(this.reserved.values());
    for (const name of await readdir(this.vmsDir).catch(() => [] as string[])) {
      const s = await stat(join(this.vmsDir, name)).catch(() => null);
      if (s && this.inRange(s.gid)) used.add(s.gid);
    }
    // A host account that happens to sit in the range is never handed to a VM.
    for (const f of ['/etc/passwd', '/etc/group']) {
      for (const line of (await readFile(f, 'utf8').catch(() => '')).split('\n'))
        used.add(Number(line.split(':')[2]));
    }
    for (let id = this.cfg.uidRange[0]; id <= this.cfg.uidRange[1]; id++) {
      if (used.has(id)) continue;
      await chown(dir, 0, id);
      this.reserved.set(vmId, id);
      return id;
    }
    throw new Error(
      `every uid in ${this.cfg.uidRange.join('-')} belongs to a VM; widen the agent's confine.uidRange`,
    );
  }

  /** The VM's uid and a fresh cgroup sized from its spec, for the launch. */
  async confinement(spec: AgentVmSpec): Promise<VmmConfinement> {
    const uid = await this.uidFor(spec);
    const host = await this.cgroups();
    await removeVmCgroup(host, spec.id);
    const cgroupProcs = await createVmCgroup(
      host,
      spec.id,
      vmCgroupLimits(
        spec.vcpus,
        spec.memoryMib,
        this.cfg.overheadMib,
        spec.background ? BACKGROUND_CPU_WEIGHT : NORMAL_CPU_WEIGHT,
      ),
    );
    return { uid, gid: uid, cgroupProcs };
  }

  /** A pool VM handed out: from here on its VMM competes for the CPU like any VM's. */
  async foreground(vmId: string): Promise<void> {
    await setVmCpuWeight(await this.cgroups(), vmId, NORMAL_CPU_WEIGHT).catch((e: Error) =>
      this.log.warn({ vm: vmId, err: e.message }, "raising the VM's CPU weight failed"),
    );
  }

  /** After the VMM is gone: its cgroup goes (the uid stays the VM's until the VM is deleted). */
  async release(vmId: string): Promise<void> {
    await removeVmCgroup(await this.cgroups(), vmId).catch((e: Error) =>
      this.log.warn({ vm: vmId, err: e.message }, "removing the VM's cgroup failed"),
    );
  }

  forget(vmId: string): void {
    this.reserved.delete(vmId);
  }

  async check(): Promise<HostCheck> {
    return confinementCheck(await this.cgroups(), this.cfg);
  }
}

/** The `vm-confinement` line of `hearth doctor`: not ok when VMs would run without cgroup limits. */
function confinementCheck(h: CgroupHost, cfg: ConfineConfig = CONFINE_DEFAULTS): HostCheck {
  const ids = `QEMU runs with seccomp as a uid of its own (${cfg.uidRange.join('-')})`;
  return { name: 'vm-confinement', ok: h.mode !== 'none', detail: `${ids}; ${describeCgroups(h)}` };
}
