import { join } from 'node:path';
import type { Logger } from 'pino';
import { HearthError, type AgentVmSpec, type AgentVmStatus } from '@hearth/contract';
import type { VmmConfinement, VmmDriver, VmmInstance } from '@hearth/vmm';
import type { VmConfiner } from './confine.ts';
import { GuestConnection } from '../guest/connection.ts';
import { DnsHosts } from '../dns-hosts.ts';
import type { ImageCache } from '../image-cache.ts';
import type { AppLogHub } from '../app-logs/collector.ts';
import { removePorts } from '../net.ts';
import type { NetContext } from '../networks.ts';
import { deleteTaps, nicsOf, removePolicy } from '../vm-net.ts';
import { BootGate } from './boot-gate.ts';
import { newRecord, statusOf, writeSpec, type VmRecord } from './record.ts';

export interface SupervisorOptions {
  dataDir: string;
  /** One per VMM kind this host has; each VM uses the one its spec names. */
  drivers: VmmDriver[];
  log: Logger;
  bootTimeoutMs: number;
  consoleLogCap: number;
  /** The static guest agent binary injected into images that lack one; null: never inject. */
  guestAgentPath: string | null;
  /** Local files for the images a VM needs (fetched from the manager when absent); null: use spec paths. */
  images?: ImageCache | null;
  /** Host network context (host id for labels, underlay, features); null: no networking (unit tests). */
  net?: NetContext | null;
  /** Called when a VM changes without being asked (guest powered off, VMM died). */
  onUnexpectedChange: (status: AgentVmStatus) => void;
  /** How long a guest call waits for a reconnecting guest channel before failing (default 15 s). */
  guestReconnectMs?: number;
  /** Collects the app output of VMs that run an app (null: none kept, unit tests). */
  appLogs?: AppLogHub | null;
  /** Confines QEMU VMs (own uid, seccomp, cgroup); null: QEMU runs as root (unit tests). */
  confiner?: VmConfiner | null;
  /** At most this many VMs boot at once (vm/boot-gate.ts); absent: no limit (unit tests). */
  maxConcurrentBoots?: number;
}

/**
 * What every VM operation shares: the records, the options, one queue per VM and the host-side
 * pieces a VM owns. `watch` starts observing a VMM that now runs (set by the Supervisor, so that
 * the boot steps need not know the exit watcher that may boot them again).
 */
export class VmContext {
  readonly vms = new Map<string, VmRecord>();
  /** Boots past the host's limit wait here for a turn; null: no limit. */
  readonly boots: BootGate | null;
  private readonly dnsHosts: DnsHosts;
  /** Off until adoption at start-up has seen every VM: a file written earlier would miss some. */
  private dnsLive = false;

  constructor(
    readonly o: SupervisorOptions,
    readonly watch: (rec: VmRecord, instance: VmmInstance) => void,
  ) {
    this.dnsHosts = new DnsHosts({ log: o.log });
    this.boots = o.maxConcurrentBoots ? new BootGate(o.maxConcurrentBoots) : null;
  }

  /** Adoption is done: the names follow the VMs from now on, starting with a sync. */
  startDns(): Promise<void> {
    this.dnsLive = true;
    return this.syncDns();
  }

  /**
   * Brings the DNS forwarders' names in line with the VMs whose VMM runs now: after a boot or
   * restore, a stop, an exit, a delete, and adoption at start-up. Never throws.
   */
  syncDns(): Promise<void> {
    if (!this.o.net || !this.dnsLive) return Promise.resolve();
    return this.dnsHosts.sync(() =>
      [...this.vms.values()].map((r) => ({ spec: r.spec, running: Boolean(r.instance) })),
    );
  }

  get log(): Logger {
    return this.o.log;
  }

  /** The name this agent labels its TAPs and tables with. */
  get agentName(): string {
    return this.o.net?.agent ?? 'agent';
  }

  vmDir(id: string): string {
    return join(this.o.dataDir, 'vms', id);
  }

  driverFor(spec: AgentVmSpec): VmmDriver {
    const d = this.o.drivers.find((x) => x.kind === spec.vmm);
    if (!d) throw new HearthError('VMM_UNAVAILABLE', `this host has no ${spec.vmm} driver`);
    return d;
  }

  status(id: string): AgentVmStatus {
    return statusOf(id, this.vms.get(id));
  }

  need(id: string): VmRecord {
    const rec = this.vms.get(id);
    if (!rec) throw new HearthError('VM_NOT_FOUND', `VM ${id} is not on this host`);
    return rec;
  }

  /** The VM's record, made on first sight. */
  recordFor(spec: AgentVmSpec): VmRecord {
    let rec = this.vms.get(spec.id);
    if (!rec) {
      rec = newRecord(spec, this.vmDir(spec.id));
      this.vms.set(spec.id, rec);
    }
    return rec;
  }

  /** Runs `fn` after every operation queued on this VM before it: one operation per VM at a time. */
  serial<T>(rec: VmRecord, fn: () => Promise<T>): Promise<T> {
    const next = rec.queue.then(fn, fn);
    rec.queue = next.catch(() => undefined);
    return next;
  }

  /** Confinement for this VM's VMM (QEMU only: Firecracker's jailer confines its own), or null. */
  confinement(spec: AgentVmSpec): Promise<VmmConfinement | null> {
    const c = this.o.confiner;
    return c && spec.vmm === 'qemu' ? c.confinement(spec) : Promise.resolve(null);
  }

  /**
   * A pool VM handed out: its spec no longer says `background` (a later relaunch, after a guest
   * reboot or an agent restart, runs at the normal weight) and its running VMM's cgroup gets the
   * normal CPU weight.
   */
  foreground(id: string): Promise<void> {
    const rec = this.need(id);
    // In the VM's queue: a spec change made beside it (a network policy) must not put it back.
    return this.serial(rec, async () => {
      if (!rec.spec.background) return;
      const { background: _, ...rest } = rec.spec;
      rec.spec = rest;
      await writeSpec(rec);
      if (this.o.confiner && rec.spec.vmm === 'qemu') await this.o.confiner.foreground(id);
    });
  }

  /** The uid a TAP of this VM belongs to: only its own VMM may attach to it (null: any). */
  tapOwner(spec: AgentVmSpec): Promise<number | null> {
    const c = this.o.confiner;
    return c && spec.vmm === 'qemu' ? c.uidFor(spec) : Promise.resolve(null);
  }

  /**
   * Everything on the host that a VM's VMM held: its names on DNS, its cgroup, its TAPs, port
   * forwards and policy table. The VMM is gone (`instance` null) when this runs.
   */
  async releaseNet(spec: AgentVmSpec): Promise<void> {
    if (this.o.confiner && spec.vmm === 'qemu') await this.o.confiner.release(spec.id);
    if (!nicsOf(spec).length) return;
    // Its names go first: another VM may be given its address once it is deleted.
    await this.syncDns();
    await deleteTaps(spec);
    await removePorts(spec.id);
    await removePolicy(spec.id);
  }

  openGuest(rec: VmRecord, instance: VmmInstance): GuestConnection {
    this.dropGuest(rec);
    const conn = new GuestConnection({
      connect: () => instance.connectGuest(),
      secret: rec.spec.guest!.secret,
      log: this.o.log.child({ vm: rec.spec.id, component: 'guest' }),
    });
    this.o.appLogs?.attach(rec.spec, rec.dir, conn);
    return conn;
  }

  dropGuest(rec: VmRecord): void {
    this.o.appLogs?.detach(rec.spec.id);
    rec.guest?.dispose();
    rec.guest = null;
  }
}
