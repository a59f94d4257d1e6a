import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  HearthError,
  type AgentNic,
  type AgentVmPhase,
  type AgentVmSpec,
  type AgentVmStatus,
} from '@hearth/contract';
import type { VmmDriver, VmmInstance, VmmSnapshotInfo } from '@hearth/vmm';

export type AgentSnapshot = VmmSnapshotInfo & { sizeBytes: number };
import { prepareDisk } from './disk.ts';
import { capLog, tailFile, waitForText } from './console-log.ts';
import { applyPorts, portTable, presentPortTables, removePorts } from './net.ts';
import { ensureNetwork, teardownNetwork, type NetContext } from './networks.ts';
import {
  applyPolicy,
  createTaps,
  deleteTaps,
  labelTaps,
  nicArgs,
  nicsOf,
  portTarget,
  removePolicy,
} from './vm-net.ts';
import { GuestConnection } from './guest/connection.ts';
import { GuestError } from './guest/errors.ts';
import { GUEST_AGENT_GUEST_PATH, injectGuest } from './guest/inject.ts';
import type { ImageCache } from './image-cache.ts';
import { adoptIdentity, assertLoadable, snapshotSize, SNAPSHOT_META } from './snapshots.ts';
import { volumePath } from './volumes.ts';

interface VmRecord {
  spec: AgentVmSpec;
  dir: string;
  instance: VmmInstance | null;
  /** The session with the guest agent, while the VMM runs and the image has an agent. */
  guest: GuestConnection | null;
  /** The disk carries a guest agent (baked in or injected), so readiness waits for it. */
  hasAgent: boolean;
  phase: AgentVmPhase;
  reason: string | null;
  startedAt: string | null;
  bootMs: number | null;
  /** Exits we caused (stop, delete, failed boot) are not reported as surprises. */
  expectingExit: boolean;
  /** When the guest last rebooted itself, for the reboot-loop guard. */
  reboots: number[];
  queue: Promise<unknown>;
}

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
}

export const GUEST_RECONNECT_MS = 15_000;

const CONSOLE_TAIL_LINES = 15;
const REBOOT_LIMIT = 5;
const REBOOT_WINDOW_MS = 60_000;

export function consoleTailReason(text: string): string {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim());
  return lines.slice(-CONSOLE_TAIL_LINES).join('\n');
}

const KEY_LINES = [
  /hearth-initrd: .*/,
  /Kernel panic - not syncing: .*/,
  /VFS: Unable to mount .*/,
  /No working init found.*/,
];

/** The console line that best explains a failed boot, when there is one. */
export function keyConsoleLine(text: string): string | null {
  for (const re of KEY_LINES) {
    const all = text.match(new RegExp(re.source, 'g'));
    if (all?.length) return all[all.length - 1]!.trim();
  }
  return null;
}

function withConsole(message: string, text: string): string {
  if (!text.trim()) {
    return `${message}: the guest printed nothing on its serial console (wrong kernel format or architecture, or no console=ttyS0?)`;
  }
  const key = keyConsoleLine(text);
  const tail = consoleTailReason(text);
  return `${message}${key ? `: ${key}` : ''}${tail ? `\n--- console (last lines) ---\n${tail}` : ''}`;
}

/** Owns every VM on this host: launch, adopt, observe, stop, delete. One operation per VM at a time. */
export class Supervisor {
  private readonly vms = new Map<string, VmRecord>();
  private capTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: SupervisorOptions) {}

  get dataDir(): string {
    return this.o.dataDir;
  }

  private async volumeFiles(spec: AgentVmSpec) {
    const out = [];
    for (const v of spec.volumes ?? []) {
      const path = volumePath(this.o.dataDir, v.id);
      if (!(await exists(path)))
        throw new Error(`Attaching volume ${v.id} failed: its file is not on this host`);
      out.push({ id: v.id, path, readOnly: v.readOnly });
    }
    return out;
  }

  private driverFor(spec: AgentVmSpec): VmmDriver {
    const d = this.o.drivers.find((x) => x.kind === spec.vmm);
    if (!d) throw new Error(`this host has no ${spec.vmm} driver`);
    return d;
  }

  private vmDir(id: string): string {
    return join(this.o.dataDir, 'vms', id);
  }

  private files(dir: string) {
    return {
      spec: join(dir, 'spec.json'),
      state: join(dir, 'state.json'),
      disk: join(dir, 'disk.raw'),
      guest: join(dir, 'guest.sock'),
      console: join(dir, 'console.log'),
    };
  }

  /** Finds VMs left by an earlier agent process and re-attaches to the ones still running. */
  async init(): Promise<void> {
    const root = join(this.o.dataDir, 'vms');
    await mkdir(root, { recursive: true });
    const unfinishedStops: string[] = [];
    for (const id of await readdir(root)) {
      const dir = join(root, id);
      const f = this.files(dir);
      const spec = await readJson<AgentVmSpec>(f.spec);
      if (!spec) continue;
      const state = (await readJson<{
        intent: string;
        startedAt?: string;
        reason?: string;
        hasAgent?: boolean;
      }>(f.state)) ?? {
        intent: 'stopped',
      };
      const rec = this.newRecord(spec, dir);
      let instance: VmmInstance | null = null;
      let adoptError: string | null = null;
      try {
        instance = await this.driverFor(spec).adopt(dir);
      } catch (e) {
        adoptError = (e as Error).message;
        this.o.log.warn({ vm: id, err: adoptError }, 'adopting VMM failed');
      }
      if (instance) {
        const s = await instance.status();
        rec.instance = instance;
        rec.hasAgent = Boolean(state.hasAgent && spec.guest);
        if (rec.hasAgent) rec.guest = this.openGuest(rec, instance);
        rec.phase = s === 'paused' ? 'paused' : 'running';
        rec.startedAt = state.startedAt ?? null;
        if (state.intent === 'stopped') {
          // The guest may finish the shutdown it was asked for at any moment: that exit is wanted.
          rec.phase = 'stopping';
          rec.expectingExit = true;
          unfinishedStops.push(id);
        }
        this.watchExit(rec, instance);
        this.o.log.info({ vm: id, pid: instance.pid, phase: rec.phase }, 'adopted running VM');
      } else {
        await this.releaseNet(spec);
        rec.phase = state.intent === 'running' ? 'failed' : state.intent === 'failed' ? 'failed' : 'stopped';
        rec.reason = adoptError
          ? `adopting the VM failed: ${adoptError}`
          : state.intent === 'running'
            ? 'VMM process was gone when the agent started'
            : (state.reason ?? null);
        if (adoptError) rec.phase = 'failed';
      }
      this.vms.set(id, rec);
    }
    // The previous agent died in the middle of these stops: finish them, then say so.
    for (const id of unfinishedStops) {
      void this.stop(id, { force: false, timeoutMs: 30_000 }).then(
        (s) => this.o.onUnexpectedChange(s),
        (e: Error) => this.o.log.warn({ vm: id, err: e.message }, 'finishing an interrupted stop failed'),
      );
    }
    // Port forwards: re-applied for VMs that kept running, removed for ours that did not (only
    // tables named after our own VMs are touched: other agents' rules are none of our business).
    // One listing up front, so stopped VMs without forwards cost no nft call at start-up.
    const present = await presentPortTables();
    for (const r of this.vms.values()) {
      const to = r.instance ? portTarget(r.spec) : null;
      if (r.instance && nicsOf(r.spec).length) {
        await labelTaps(r.spec, this.agentName).catch((e: Error) =>
          this.o.log.warn({ vm: r.spec.id, err: e.message }, 'labelling the TAPs failed'),
        );
        await applyPolicy(r.spec, this.agentName).catch((e: Error) =>
          this.o.log.warn({ vm: r.spec.id, err: e.message }, 'repairing the egress policy failed'),
        );
      }
      if (!to && !present.has(portTable(r.spec.id))) continue;
      const fix = to ? applyPorts(r.spec.id, to, r.spec.ports ?? []) : removePorts(r.spec.id);
      await fix.catch((e: Error) =>
        this.o.log.warn({ vm: r.spec.id, err: e.message }, 'repairing published ports failed'),
      );
    }
    this.capTimer = setInterval(() => void this.capLogs(), 10_000);
    this.capTimer.unref();
  }

  /** The VM's record, made on first sight. */
  private recordFor(spec: AgentVmSpec): VmRecord {
    let rec = this.vms.get(spec.id);
    if (!rec) {
      rec = this.newRecord(spec, this.vmDir(spec.id));
      this.vms.set(spec.id, rec);
    }
    return rec;
  }

  private newRecord(spec: AgentVmSpec, dir: string): VmRecord {
    return {
      spec,
      dir,
      instance: null,
      guest: null,
      hasAgent: false,
      phase: 'stopped',
      reason: null,
      startedAt: null,
      bootMs: null,
      expectingExit: false,
      reboots: [],
      queue: Promise.resolve(),
    };
  }

  private async capLogs(): Promise<void> {
    for (const rec of this.vms.values()) {
      await capLog(this.files(rec.dir).console, this.o.consoleLogCap).catch(() => undefined);
    }
  }

  private serial<T>(rec: VmRecord, fn: () => Promise<T>): Promise<T> {
    const next = rec.queue.then(fn, fn);
    rec.queue = next.catch(() => undefined);
    return next;
  }

  status(id: string): AgentVmStatus {
    const rec = this.vms.get(id);
    if (!rec)
      return { id, phase: 'absent', reason: null, pid: null, accel: null, startedAt: null, bootMs: null };
    return {
      id,
      phase: rec.phase,
      reason: rec.reason,
      pid: rec.instance?.pid ?? null,
      accel: rec.instance?.accel ?? null,
      startedAt: rec.startedAt,
      bootMs: rec.bootMs,
    };
  }

  list(): AgentVmStatus[] {
    return [...this.vms.keys()].map((id) => this.status(id));
  }

  private async persist(rec: VmRecord, intent: 'running' | 'stopped' | 'failed'): Promise<void> {
    await writeFile(
      this.files(rec.dir).state,
      JSON.stringify({ intent, startedAt: rec.startedAt, reason: rec.reason, hasAgent: rec.hasAgent }) + '\n',
    );
  }

  /** Boots the VM and resolves once the guest printed its boot marker (or failed). Idempotent. */
  start(spec: AgentVmSpec): Promise<AgentVmStatus> {
    const r = this.recordFor(spec);
    return this.serial(r, async () => {
      if (r.instance && (r.phase === 'running' || r.phase === 'paused')) return this.status(spec.id);
      if (r.instance) {
        // A VMM left over from a stop that did not finish must not share the disk with a new one.
        r.expectingExit = true;
        await r.instance.kill().catch(() => undefined);
        r.expectingExit = false;
        r.instance = null;
      }
      r.spec = spec;
      await this.boot(r);
      return this.status(spec.id);
    });
  }

  /**
   * Boots the VM, or with `from` resumes it from a snapshot directory: then the disk comes from
   * the snapshot and is left untouched (the guest's memory already knows its contents).
   */
  private async boot(
    rec: VmRecord,
    from?: { dir: string; hasAgent: boolean; source: AgentVmSpec | null },
  ): Promise<void> {
    const { spec, dir } = rec;
    const f = this.files(dir);
    const log = this.o.log.child({ vm: spec.id });
    rec.phase = 'starting';
    rec.reason = null;
    rec.bootMs = null;
    const nics = nicsOf(spec);
    let taps: { name: string; mac: string }[] = [];
    let instance: VmmInstance | null = null;
    let freshDisk = false;
    const t0 = Date.now();
    try {
      await mkdir(dir, { recursive: true });
      // It holds the guest secret and password hashes: root only, whatever the directory's mode.
      await writeFile(f.spec, JSON.stringify(spec, null, 2) + '\n', { mode: 0o600 });
      await chmod(f.spec, 0o600);
      freshDisk = !from && !(await exists(f.disk));
      const local = (ref: AgentVmSpec['rootfs']) => this.o.images?.local(ref) ?? ref.path;
      if (freshDisk) await prepareDisk(await local(spec.rootfs), f.disk, spec.diskMib * 1024 * 1024);
      const kernelPath = await local(spec.kernel);
      const initrdPath = spec.initrd ? await local(spec.initrd) : null;
      rec.hasAgent = from ? from.hasAgent && Boolean(spec.guest) : false;
      if (spec.guest && !from) {
        const inj = await injectGuest(
          f.disk,
          {
            secret: spec.guest.secret,
            hostname: spec.name,
            users: spec.guest.users,
            env: spec.env,
            ...(spec.guest.app ? { app: spec.guest.app } : {}),
          },
          this.o.guestAgentPath,
          { asInit: spec.bootArgs.split(/\s+/).includes(`init=${GUEST_AGENT_GUEST_PATH}`) },
        );
        rec.hasAgent = inj.hasAgent;
        if (!inj.hasAgent)
          log.warn({ reason: inj.reason }, 'no guest agent in this image; exec and shell unavailable');
      }
      if (nics.length) {
        const tNet = Date.now();
        for (const net of new Map(nics.map((n) => [n.network.id, n.network])).values()) {
          if (this.o.net) await ensureNetwork(net, this.o.net);
        }
        taps = await createTaps(spec, this.agentName);
        const to = portTarget(spec);
        if (to) await applyPorts(spec.id, to, spec.ports ?? []);
        await applyPolicy(spec, this.agentName, { fresh: true });
        log.debug({ ms: Date.now() - tNet, nics: nics.length }, 'VM network ready');
      }
      const consoleStart = (await stat(f.console).catch(() => ({ size: 0 }))).size;
      await this.persist(rec, 'running');
      const launchedAt = Date.now();
      const driver = this.driverFor(spec);
      const launchSpec = {
        vmId: spec.id,
        runDir: dir,
        vcpus: spec.vcpus,
        memoryMib: spec.memoryMib,
        kernelPath,
        initrdPath,
        diskPath: f.disk,
        cmdline: this.cmdline(spec),
        consoleLogPath: f.console,
        tap: taps[0] ?? null,
        moreTaps: taps.slice(1),
        guestSocketPath: f.guest,
        volumes: await this.volumeFiles(spec),
        // Readable by the guest at boot where the VMM offers it (Firecracker's MMDS).
        metadata: {
          name: spec.name,
          nics: nics.map(({ network, ...n }) => ({ ...n, network: network.name })),
        },
      };
      if (from && !driver.restore)
        throw new Error(`Restoring failed: the ${driver.kind} driver cannot restore snapshots`);
      instance = from ? await driver.restore!(launchSpec, from.dir) : await driver.launch(launchSpec);
      rec.instance = instance;
      if (from) await instance.resume();
      if (rec.hasAgent) {
        rec.guest = this.openGuest(rec, instance);
        await this.awaitAgent(rec.guest, instance);
        // The restored guest wakes with the clock and identity of the instant it was saved.
        if (from) await adoptIdentity(rec.guest, spec, from.source);
      } else if (spec.bootMarker && !from) await this.awaitBoot(rec, instance, f.console, consoleStart);
      rec.bootMs = Date.now() - launchedAt;
      rec.phase = 'running';
      rec.startedAt = new Date().toISOString();
      await this.persist(rec, 'running');
      this.watchExit(rec, instance);
      log.info({ pid: instance.pid, bootMs: rec.bootMs, totalMs: Date.now() - t0 }, 'VM running');
    } catch (e) {
      const message = (e as Error).message;
      rec.reason = withConsole(message, await tailFile(f.console, 16384));
      rec.phase = 'failed';
      log.warn({ reason: message, restoring: Boolean(from) }, 'VM failed to boot; cleaning up');
      rec.expectingExit = true;
      this.dropGuest(rec);
      await instance?.kill().catch(() => undefined);
      rec.instance = null;
      rec.expectingExit = false;
      await this.releaseNet(spec);
      // A disk made by this very boot holds nothing worth keeping; an older one holds the user's data.
      if (freshDisk) await rm(f.disk, { force: true });
      await this.persist(rec, 'failed');
    }
  }

  private cmdline(spec: AgentVmSpec): string {
    const parts = [spec.bootArgs, `hearth.hostname=${spec.name}`, `hearth.id=${spec.id}`];
    parts.push(...nicArgs(nicsOf(spec)));
    return parts.filter(Boolean).join(' ');
  }

  private async awaitBoot(
    rec: VmRecord,
    instance: VmmInstance,
    consolePath: string,
    from: number,
  ): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(
      () =>
        ac.abort(
          new Error(`Booting timed out after ${this.o.bootTimeoutMs / 1000} s without the boot marker`),
        ),
      this.o.bootTimeoutMs,
    );
    void instance.exited.then((x) =>
      ac.abort(new Error(`Booting failed: the VMM exited before the guest was up (${x.cause})`)),
    );
    try {
      await waitForText(consolePath, rec.spec.bootMarker!, from, ac.signal);
    } finally {
      clearTimeout(timer);
      ac.abort(new Error('done'));
    }
  }

  private watchExit(rec: VmRecord, instance: VmmInstance): void {
    void instance.exited.then(async (x) => {
      // Read before any await: stop() clears the flag once its own wait is over.
      const expected = rec.expectingExit;
      if (rec.instance !== instance) return;
      rec.instance = null;
      this.dropGuest(rec);
      // Whoever expected this exit (stop, delete, a failed boot, a replaced VMM) cleans up the TAP
      // itself; deleting it here could race a new boot's TAP of the same name.
      if (expected) return;
      // Decide before any await, so that a stop or delete arriving meanwhile sees the new phase.
      const reboot = x.cause === 'guest-reset' && this.mayReboot(rec);
      if (reboot) rec.phase = 'starting';
      await this.releaseNet(rec.spec);
      if (reboot) {
        // QEMU runs with -no-reboot so that a reset is visible; a reboot inside the guest is
        // carried out here as a fresh boot on the same disk.
        this.o.log.info({ vm: rec.spec.id }, 'guest rebooted; booting it again');
        this.o.onUnexpectedChange(this.status(rec.spec.id));
        void this.serial(rec, async () => {
          // A delete or stop that ran meanwhile wins: boot only if nothing else touched the VM.
          if (this.vms.get(rec.spec.id) !== rec || rec.phase !== 'starting' || rec.instance) return;
          await this.boot(rec);
          this.o.onUnexpectedChange(this.status(rec.spec.id));
        }).catch((e: Error) =>
          this.o.log.warn({ vm: rec.spec.id, err: e.message }, 'booting after a guest reboot failed'),
        );
        return;
      }
      if (x.cause === 'guest-shutdown') {
        rec.phase = 'stopped';
        rec.reason = 'the guest powered itself off';
      } else if (x.cause === 'guest-reset') {
        rec.phase = 'failed';
        rec.reason = `the guest rebooted ${REBOOT_LIMIT} times within ${REBOOT_WINDOW_MS / 1000} s; left stopped to break the loop`;
      } else {
        rec.phase = 'failed';
        rec.reason = withConsole(
          `the VMM process exited unexpectedly (${x.cause})`,
          await tailFile(this.files(rec.dir).console, 16384),
        );
      }
      await this.persist(rec, rec.phase === 'failed' ? 'failed' : 'stopped').catch(() => undefined);
      this.o.log.warn({ vm: rec.spec.id, cause: x.cause, phase: rec.phase }, 'VM changed on its own');
      this.o.onUnexpectedChange(this.status(rec.spec.id));
    });
  }

  /** A guest that keeps resetting (a panic loop) is stopped after a few quick reboots. */
  private mayReboot(rec: VmRecord): boolean {
    const now = Date.now();
    rec.reboots = rec.reboots.filter((t) => now - t < REBOOT_WINDOW_MS);
    if (rec.reboots.length >= REBOOT_LIMIT) return false;
    rec.reboots.push(now);
    return true;
  }

  private need(id: string): VmRecord {
    const rec = this.vms.get(id);
    if (!rec) throw new HearthError('VM_NOT_FOUND', `VM ${id} is not on this host`);
    return rec;
  }

  stop(id: string, opts: { force: boolean; timeoutMs: number }): Promise<AgentVmStatus> {
    const rec = this.need(id);
    return this.serial(rec, async () => {
      const inst = rec.instance;
      if (!inst) {
        if (rec.phase !== 'failed') rec.phase = 'stopped';
        return this.status(id);
      }
      rec.phase = 'stopping';
      rec.expectingExit = true;
      // Persist the intent first: if this agent dies mid-stop, its successor knows the exit was wanted.
      await this.persist(rec, 'stopped');
      let reason = opts.force ? 'stopped by force' : 'the guest shut down';
      try {
        if (!opts.force) {
          try {
            if ((await inst.status()) === 'paused') await inst.resume();
            await this.askGuestToShutDown(rec, inst);
            const timedOut = await Promise.race([
              inst.exited.then(() => false),
              new Promise<boolean>((r) => setTimeout(() => r(true), opts.timeoutMs).unref()),
            ]);
            if (timedOut) reason = `forced after ${opts.timeoutMs / 1000} s: the guest did not shut down`;
          } catch (e) {
            // A VMM that no longer answers QMP is stopped the hard way, never left half-stopped.
            reason = `forced: asking the guest to shut down failed (${(e as Error).message})`;
          }
        }
        await inst.kill();
      } finally {
        rec.expectingExit = false;
      }
      rec.instance = null;
      this.dropGuest(rec);
      await this.releaseNet(rec.spec);
      rec.phase = 'stopped';
      rec.reason = reason;
      rec.startedAt = null;
      await this.persist(rec, 'stopped');
      return this.status(id);
    });
  }

  pause(id: string): Promise<AgentVmStatus> {
    return this.qmpAction(id, 'running', 'paused', (i) => i.pause());
  }

  resume(id: string): Promise<AgentVmStatus> {
    return this.qmpAction(id, 'paused', 'running', async (i) => {
      await i.resume();
      // The guest's clock stood still while paused: set it from ours (best effort).
      const g = this.vms.get(id)?.guest;
      if (g?.info) void g.request({ op: 'time.sync', unixMs: Date.now() }, 5000).catch(() => undefined);
    });
  }

  /**
   * The guest agent session of a running VM, or a clear reason why there is none. A channel that
   * is reconnecting (after a snapshot, a restore, an agent restart) is waited for, bounded: past
   * `guestReconnectMs` the call fails with the retryable GUEST_RECONNECTING.
   */
  async guest(id: string): Promise<GuestConnection> {
    const waitMs = this.o.guestReconnectMs ?? GUEST_RECONNECT_MS;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const rec = this.need(id);
      if (rec.phase !== 'running' || !rec.instance) {
        throw new GuestError('VM_NOT_RUNNING', `VM ${id} is ${rec.phase}; it must be running`);
      }
      const conn = rec.guest;
      if (!conn) {
        throw new GuestError(
          'GUEST_UNAVAILABLE',
          `VM ${id} has no guest agent (its image could not be given one)`,
        );
      }
      if (conn.info) return conn;
      try {
        await conn.connected(Math.max(0, deadline - Date.now()));
      } catch (e) {
        if (e instanceof GuestError && e.code === 'GUEST_RECONNECTING') {
          throw new GuestError(
            'GUEST_RECONNECTING',
            `the channel to the guest agent of VM ${id} did not come back within ${waitMs / 1000} s`,
          );
        }
        // Disposed while we waited: a stop, delete or restore replaced it; look again, once it did.
        if (this.vms.get(id)?.guest === conn) throw e;
      }
    }
  }

  /** Saves memory, devices and disk of a running or paused VM; it continues as it was. */
  snapshot(id: string, snapshotId: string): Promise<AgentSnapshot> {
    const rec = this.need(id);
    return this.serial(rec, async () => {
      const inst = rec.instance;
      if (!inst || (rec.phase !== 'running' && rec.phase !== 'paused')) {
        throw new HearthError(
          'VM_INVALID_STATE',
          `VM ${id} is ${rec.phase}; only running or paused VMs can be snapshotted`,
        );
      }
      if (!inst.snapshot)
        throw new HearthError('VM_INVALID_STATE', `the ${rec.spec.vmm} driver cannot snapshot`);
      const dir = this.snapshotDir(snapshotId);
      await rm(dir, { recursive: true, force: true });
      try {
        const info = await inst.snapshot(dir);
        // It holds the guest secret and password hashes, like spec.json: root only.
        await writeFile(
          join(dir, SNAPSHOT_META),
          JSON.stringify({ hasAgent: rec.hasAgent, spec: rec.spec }) + '\n',
          {
            mode: 0o600,
          },
        );
        await chmod(dir, 0o700);
        if (rec.phase === 'running' && rec.guest?.info) {
          void rec.guest.request({ op: 'time.sync', unixMs: Date.now() }, 5000).catch(() => undefined);
        }
        return { ...info, sizeBytes: await snapshotSize(dir) };
      } catch (e) {
        await rm(dir, { recursive: true, force: true });
        throw e;
      }
    });
  }

  /**
   * Runs `spec` from a snapshot: in place (the VM's current VMM is replaced) or as a new VM (a
   * clone: its own disk copy, TAP, address and name, applied inside the guest after restore).
   */
  restore(spec: AgentVmSpec, snapshotId: string): Promise<AgentVmStatus> {
    const r = this.recordFor(spec);
    return this.serial(r, async () => {
      const dir = this.snapshotDir(snapshotId);
      const meta = await readJson<{ hasAgent: boolean; spec?: AgentVmSpec }>(join(dir, SNAPSHOT_META));
      if (!meta) throw new HearthError('SNAPSHOT_NOT_FOUND', `snapshot ${snapshotId} is not on this host`);
      // Refuse what cannot load before touching the running VM.
      await assertLoadable(this.driverFor(spec), dir);
      // The VM's own disk is set aside, not overwritten: a restore that fails gives it back.
      const disk = this.files(r.dir).disk;
      const kept = `${disk}.pre-restore`;
      const hadDisk = await exists(disk);
      if (r.instance) {
        r.expectingExit = true;
        this.dropGuest(r);
        await r.instance.kill().catch(() => undefined);
        r.instance = null;
        r.expectingExit = false;
        await this.releaseNet(r.spec);
      }
      r.spec = spec;
      if (hadDisk) await rename(disk, kept);
      await this.boot(r, { dir, hasAgent: meta.hasAgent, source: meta.spec ?? null });
      if (hadDisk) {
        if (r.phase === 'failed') {
          await rename(kept, disk);
          r.reason = `${r.reason ?? 'restoring failed'}\n(the VM's disk from before the restore was put back)`;
          await this.persist(r, 'failed');
        } else await rm(kept, { force: true });
      } else if (r.phase === 'failed') {
        // A clone that never ran: its copy of the snapshot's disk holds nothing of value.
        await rm(disk, { force: true });
      }
      return this.status(spec.id);
    });
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    await rm(this.snapshotDir(snapshotId), { recursive: true, force: true });
  }

  private snapshotDir(snapshotId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(snapshotId))
      throw Object.assign(new Error('bad snapshot id'), { statusCode: 400 });
    return join(this.o.dataDir, 'snapshots', snapshotId);
  }

  /** Paths a console viewer needs: the log QEMU appends and the socket that takes input. */
  consolePaths(id: string): { log: string; socket: string; running: boolean } {
    const rec = this.need(id);
    return {
      log: this.files(rec.dir).console,
      socket: join(rec.dir, 'console.sock'),
      running: Boolean(rec.instance),
    };
  }

  /**
   * The guest agent's own `shutdown` is the most reliable ask (no ACPI or i8042 needed); the VMM's
   * power button / Ctrl-Alt-Del is the fallback for guests without a connected agent.
   */
  private async askGuestToShutDown(rec: VmRecord, inst: VmmInstance): Promise<void> {
    if (rec.guest?.info) {
      const asked = await rec.guest.request({ op: 'shutdown' }, 5000).then(
        () => true,
        () => false,
      );
      if (asked) return;
    }
    await inst.requestShutdown();
  }

  private get agentName(): string {
    return this.o.net?.agent ?? 'agent';
  }

  /** Everything on the host network that a VM owns: its TAPs, port forwards and policy table. */
  private async releaseNet(spec: AgentVmSpec): Promise<void> {
    if (!nicsOf(spec).length) return;
    await deleteTaps(spec);
    await removePorts(spec.id);
    await removePolicy(spec.id);
  }

  /**
   * Replaces the published ports, egress policy and rate limit; applied at once when the VM runs
   * (each atomically), else at its next start.
   */
  setNetPolicy(
    id: string,
    p: Pick<AgentVmSpec, 'ports' | 'egress' | 'bandwidthMbit'>,
  ): Promise<AgentVmStatus> {
    const rec = this.need(id);
    return this.serial(rec, async () => {
      const next = { ...rec.spec, ...p };
      if (rec.instance && nicsOf(next).length) {
        const apply = async (s: AgentVmSpec) => {
          const to = portTarget(s);
          if (to) await applyPorts(id, to, s.ports);
          await applyPolicy(s, this.agentName);
        };
        try {
          await apply(next);
        } catch (e) {
          // All or nothing: what was applied of the new settings goes back to the old ones.
          await apply(rec.spec).catch((r: Error) =>
            this.o.log.error({ vm: id, err: r.message }, 'restoring the previous network settings failed'),
          );
          throw e;
        }
      }
      rec.spec = next;
      await writeFile(this.files(rec.dir).spec, JSON.stringify(rec.spec, null, 2) + '\n', { mode: 0o600 });
      return this.status(id);
    });
  }

  netPolicy(id: string): Pick<AgentVmSpec, 'ports' | 'egress' | 'bandwidthMbit'> {
    const { ports, egress, bandwidthMbit } = this.need(id).spec;
    return { ports: ports ?? [], egress: egress ?? null, bandwidthMbit: bandwidthMbit ?? null };
  }

  /** Re-applies a network this host carries (new VXLAN peers); ignored when no VM here uses it. */
  async refreshNetwork(net: AgentNic['network']): Promise<void> {
    if (!this.o.net || !this.networksInUse().has(net.id)) return;
    await ensureNetwork(net, this.o.net);
  }

  /** Removes a deleted network from this host. */
  async teardownNetwork(net: Parameters<typeof teardownNetwork>[0]): Promise<void> {
    await teardownNetwork(net);
  }

  /** Networks (by id) that this agent's VMs use: start-up keeps them, sweeps the rest of ours. */
  networksInUse(): Set<string> {
    return new Set([...this.vms.values()].flatMap((r) => nicsOf(r.spec).map((n) => n.network.id)));
  }

  /** Ids of the VMs this agent knows. */
  vmIds(): Set<string> {
    return new Set(this.vms.keys());
  }

  /** VMs whose VMM runs now (their TAPs and tables must stay). */
  runningVmIds(): Set<string> {
    return new Set([...this.vms.values()].filter((r) => r.instance).map((r) => r.spec.id));
  }

  private openGuest(rec: VmRecord, instance: VmmInstance): GuestConnection {
    this.dropGuest(rec);
    return new GuestConnection({
      connect: () => instance.connectGuest(),
      secret: rec.spec.guest!.secret,
      log: this.o.log.child({ vm: rec.spec.id, component: 'guest' }),
    });
  }

  private dropGuest(rec: VmRecord): void {
    rec.guest?.dispose();
    rec.guest = null;
  }

  private async awaitAgent(guest: GuestConnection, instance: VmmInstance): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(
      () =>
        ac.abort(
          new Error(
            `Booting timed out after ${this.o.bootTimeoutMs / 1000} s: the guest agent never answered`,
          ),
        ),
      this.o.bootTimeoutMs,
    );
    void instance.exited.then((x) =>
      ac.abort(new Error(`Booting failed: the VMM exited before the guest was up (${x.cause})`)),
    );
    const refused = (why: string) =>
      ac.abort(new Error(`Booting failed: the guest agent refused the session (${why})`));
    guest.once('refused', refused);
    try {
      await guest.ready(ac.signal);
    } finally {
      clearTimeout(timer);
      guest.off('refused', refused);
      ac.abort(new Error('done'));
    }
  }

  private qmpAction(
    id: string,
    from: AgentVmPhase,
    to: AgentVmPhase,
    fn: (i: VmmInstance) => Promise<void>,
  ): Promise<AgentVmStatus> {
    const rec = this.need(id);
    return this.serial(rec, async () => {
      if (rec.phase === to) return this.status(id);
      if (rec.phase !== from || !rec.instance) {
        throw Object.assign(new Error(`VM ${id} is ${rec.phase}, not ${from}`), { statusCode: 409 });
      }
      await fn(rec.instance);
      rec.phase = to;
      return this.status(id);
    });
  }

  /** Kills the VMM and removes the run directory, disk, TAP and console log. */
  delete(id: string): Promise<void> {
    const rec = this.vms.get(id);
    if (!rec) return Promise.resolve();
    return this.serial(rec, async () => {
      rec.expectingExit = true;
      this.dropGuest(rec);
      await rec.instance?.kill();
      rec.instance = null;
      await this.releaseNet(rec.spec);
      await rm(rec.dir, { recursive: true, force: true });
      this.vms.delete(id);
    });
  }

  async consoleLog(id: string, bytes: number): Promise<string> {
    const rec = this.need(id);
    return tailFile(this.files(rec.dir).console, bytes);
  }

  /** Lets go of every VMM (they keep running). Idempotent. */
  dispose(): void {
    if (this.capTimer) clearInterval(this.capTimer);
    this.capTimer = null;
    for (const rec of this.vms.values()) {
      this.dropGuest(rec);
      rec.instance?.dispose();
    }
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function readJson<T>(p: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(p, 'utf8')) as T;
  } catch {
    return null;
  }
}
