import { readFile, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { HearthError, type VmmAvailability } from '@hearth/contract';
import {
  killAndWait,
  pidAlive,
  readPidFile,
  processArgv,
  type HostCheck,
  type VmmDriver,
  type VmmInstance,
  type VmmLaunchSpec,
} from '@hearth/vmm';
import { FirecrackerApi } from './api-client.ts';
import { consoleEndsHalted } from './console-watch.ts';
import type { FirecrackerInstance, WatchdogOptions } from './instance.ts';
import { allocateUid, cleanupJail, JAILER_DEFAULTS, jailLayout, type JailerConfig } from './jailer.ts';
import {
  fcNames,
  FirecrackerLaunchError,
  instanceFor,
  isElf,
  launchFirecracker,
  type InstanceRecord,
  type LaunchContext,
  type LaunchMode,
} from './launch.ts';
import { directLayout, runDirFiles, type FcLayout } from './layout.ts';
import { probeFirecracker, type FirecrackerProbe } from './probe.ts';
import { copyDisk, readSnapshot, SNAPSHOT_FILES, snapshotIncompatibility } from './snapshot.ts';
import { resolveChain } from './snapshot-chain.ts';

export interface FirecrackerDriverOptions {
  /** Path or name on PATH; default HEARTH_FIRECRACKER_BIN or `firecracker`. */
  binary?: string;
  /**
   * Path or name on PATH; default HEARTH_JAILER_BIN or `jailer`. Firecracker refuses to run when
   * it is missing, unless the operator opts out: false here, or HEARTH_FIRECRACKER_NO_JAILER=1.
   */
  jailer?: string | false;
  /** Trust KVM when the CPU shows no vmx/svm; default HEARTH_FIRECRACKER_TRUST_KVM=1. */
  trustKvm?: boolean;
  jailerConfig?: Partial<Omit<JailerConfig, 'binary'>>;
  /** Network namespace for jailed VMs (`/var/run/netns/<ns>`); default: the host's. */
  netns?: string | null;
  /** Dirty-page tracking, needed for diff snapshots; costs a little at run time. Default off. */
  trackDirtyPages?: boolean;
  startTimeoutMs?: number;
  apiTimeoutMs?: number;
  tapBusyWaitMs?: number;
  watchdog?: WatchdogOptions;
  /** How often process liveness and the console are checked. */
  pollMs?: number;
  log?: Logger;
}

export class FirecrackerDriver implements VmmDriver {
  readonly kind = 'firecracker' as const;
  private probed: Promise<FirecrackerProbe> | null = null;
  private readonly reservedUids = new Set<number>();
  private readonly jailCfg: Omit<JailerConfig, 'binary'>;

  constructor(private readonly opts: FirecrackerDriverOptions = {}) {
    this.jailCfg = { ...JAILER_DEFAULTS, ...opts.jailerConfig };
  }

  private get binaryName(): string {
    return this.opts.binary ?? process.env.HEARTH_FIRECRACKER_BIN ?? 'firecracker';
  }

  /** The jailer to use, or null when the operator opted out of jailing. */
  private get jailerName(): string | null {
    if (this.opts.jailer === false || process.env.HEARTH_FIRECRACKER_NO_JAILER === '1') return null;
    return this.opts.jailer ?? process.env.HEARTH_JAILER_BIN ?? 'jailer';
  }

  /** Probes afresh each call (inventory is re-sent with heartbeats); launches reuse the last. */
  private probeNow(): Promise<FirecrackerProbe> {
    this.probed = probeFirecracker({
      binary: this.binaryName,
      jailer: this.jailerName,
      trustKvm: this.opts.trustKvm ?? process.env.HEARTH_FIRECRACKER_TRUST_KVM === '1',
    });
    return this.probed;
  }

  async probe(): Promise<VmmAvailability> {
    return (await this.probeNow()).availability;
  }

  async checks(): Promise<HostCheck[]> {
    return (await (this.probed ?? this.probeNow())).checks;
  }

  private async context(): Promise<LaunchContext & { probe: FirecrackerProbe }> {
    let probe = await (this.probed ?? this.probeNow());
    // A version probe that timed out (a loaded host) leaves the version unknown, and every
    // snapshot of a VM launched so could never be restored: ask again before launching.
    if (probe.binary && !probe.availability.version) probe = await this.probeNow();
    if (!probe.binary) {
      throw new FirecrackerLaunchError(`Launching Firecracker failed: ${probe.checks[0]!.detail}`, '');
    }
    if (!probe.jailer && this.jailerName !== null) {
      const check = probe.checks.find((c) => c.name === 'firecracker-jailer')!;
      throw new HearthError('VMM_UNAVAILABLE', `Launching Firecracker failed: ${check.detail}`, {
        detail: { check: check.name },
      });
    }
    const o = this.opts;
    return {
      probe,
      binary: probe.binary,
      jailer: probe.jailer
        ? { binary: probe.jailer, parentCgroup: this.jailCfg.parentCgroup, netns: o.netns ?? null }
        : null,
      version: probe.availability.version,
      trackDirtyPages: o.trackDirtyPages ?? false,
      startTimeoutMs: o.startTimeoutMs ?? 10_000,
      apiTimeoutMs: o.apiTimeoutMs ?? 10_000,
      tapBusyWaitMs: o.tapBusyWaitMs ?? 5_000,
      watchdog: o.watchdog ?? { intervalMs: 10_000, failures: 3 },
      pollMs: o.pollMs ?? 250,
      log: o.log ?? null,
    };
  }

  private async layoutFor(ctx: LaunchContext, spec: VmmLaunchSpec): Promise<FcLayout> {
    if (!ctx.jailer) return directLayout(spec.runDir);
    const cfg = { ...this.jailCfg, binary: ctx.jailer.binary };
    // A leftover jail of this very VM keeps its uid; otherwise the lowest free one.
    const previous = await readRecord(spec.runDir);
    const uid = previous?.layout.jail?.uid ?? (await allocateUid(cfg, ctx.binary, this.reservedUids));
    this.reservedUids.add(uid);
    return jailLayout(spec.runDir, cfg, ctx.binary, spec.vmId, uid);
  }

  async launch(spec: VmmLaunchSpec): Promise<VmmInstance> {
    const ctx = await this.context();
    if (!(await isElf(spec.kernelPath).catch(() => false))) {
      throw new FirecrackerLaunchError(
        `Launching Firecracker failed: ${spec.kernelPath} is not an uncompressed ELF vmlinux (Firecracker on x86_64 boots no bzImage)`,
        '',
      );
    }
    return this.start(ctx, spec, { kind: 'boot' });
  }

  private async start(
    ctx: LaunchContext,
    spec: VmmLaunchSpec,
    mode: LaunchMode,
  ): Promise<FirecrackerInstance> {
    let layout: FcLayout | null = null;
    try {
      layout = await this.layoutFor(ctx, spec);
      const inst = await launchFirecracker(ctx, layout, spec, mode);
      const uid = layout.jail?.uid;
      if (uid !== undefined) void inst.exited.then(() => this.reservedUids.delete(uid));
      return inst;
    } catch (e) {
      if (layout?.jail) this.reservedUids.delete(layout.jail.uid);
      if (e instanceof FirecrackerLaunchError) throw e;
      throw new FirecrackerLaunchError(`Launching Firecracker failed: ${(e as Error).message}`, '');
    }
  }

  /**
   * Boots a fresh Firecracker from a snapshot directory: refuses other VMMs' and incompatible
   * versions' snapshots, merges a diff snapshot's chain onto its full base, copies the disk to `spec.diskPath`, loads with the NIC re-pointed at
   * this VM's TAP, then puts the MMDS data again (snapshots do not carry it).
   */
  async restore(spec: VmmLaunchSpec, snapshotDir: string): Promise<VmmInstance> {
    const ctx = await this.context();
    const info = await readSnapshot(snapshotDir);
    const why = snapshotIncompatibility(info.vmmVersion === 'unknown' ? null : info.vmmVersion, ctx.version);
    if (why) throw new Error(`Restoring the snapshot failed: ${why}`);
    // A diff is merged onto its chain's full snapshot; its own state file is what loads.
    const chain = info.type === 'diff' ? await resolveChain(snapshotDir, info) : undefined;
    if (info.firecracker.hasNic && !spec.tap) {
      throw new Error(
        'Restoring the snapshot failed: the snapshot has a network interface and this VM has no TAP',
      );
    }
    const names = fcNames(ctx.jailer ? await this.layoutFor(ctx, spec) : directLayout(spec.runDir), spec);
    for (const [what, baked, ours] of [
      ['disk', info.firecracker.drivePath, names.drive],
      ['vsock socket', info.firecracker.vsockPath, names.vsock],
    ] as const) {
      if (baked !== ours) {
        throw new Error(
          `Restoring the snapshot failed: its ${what} path ${baked} is baked in and differs from this VM's ${ours}`,
        );
      }
    }
    await copyDisk(`${snapshotDir}/${SNAPSHOT_FILES.disk}`, spec.diskPath);
    return this.start(ctx, spec, { kind: 'restore', info, dir: snapshotDir, chain });
  }

  async adopt(runDir: string): Promise<VmmInstance | null> {
    const record = await readRecord(runDir);
    if (!record) return null;
    const layout = record.layout;
    const pid = await readPidFile(layout.pidFile);
    if (!pid || !pidAlive(pid) || !(await isOurs(pid, layout))) {
      // Gone while the agent was down: what it left behind goes too.
      await cleanupJail(layout).catch(() => undefined);
      await rm(layout.apiSock, { force: true });
      return null;
    }
    const ctx = await this.context().catch(() => null);
    const api = new FirecrackerApi(layout.apiSock, 5000);
    try {
      await api.get('/');
    } catch (e) {
      // Ours (verified above), but deaf: an unmanageable VMM must not keep the disk.
      await killAndWait(pid);
      await cleanupJail(layout).catch(() => undefined);
      throw new Error(`the VMM (pid ${pid}) did not answer its API (${(e as Error).message}); it was killed`);
    }
    const inst = instanceFor(ctx ?? this.fallbackContext(), record, pid, null);
    // Powered off while nobody watched: Firecracker still runs, the console says why.
    if (await consoleEndsHalted(record.consoleLogPath)) inst.guestHalted();
    return inst;
  }

  private fallbackContext(): LaunchContext {
    const o = this.opts;
    return {
      binary: this.binaryName,
      jailer: null,
      version: null,
      trackDirtyPages: false,
      startTimeoutMs: 10_000,
      apiTimeoutMs: o.apiTimeoutMs ?? 10_000,
      tapBusyWaitMs: 5_000,
      watchdog: o.watchdog ?? { intervalMs: 10_000, failures: 3 },
      pollMs: o.pollMs ?? 250,
      log: o.log ?? null,
    };
  }
}

async function readRecord(runDir: string): Promise<InstanceRecord | null> {
  try {
    return JSON.parse(await readFile(runDirFiles(runDir).stateFile, 'utf8')) as InstanceRecord;
  } catch {
    return null;
  }
}

/** The pid may have been reused: require our API socket (or, jailed, our jail id) on its argv. */
async function isOurs(pid: number, layout: FcLayout): Promise<boolean> {
  const argv = await processArgv(pid);
  if (!layout.jail) return argv.includes(layout.apiSock);
  return argv.includes(layout.jail.id) && argv.includes('--api-sock');
}
