import { access, open, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VmmAvailability } from '@hearth/contract';
import {
  describeExit,
  joinCgroup,
  killAndWait,
  killQuietly,
  lastLine,
  pidAlive,
  readPidFile,
  processArgv,
  socketPathTooLong,
  spawnDetached,
  type VmmDriver,
  type VmmInstance,
  type VmmLaunchSpec,
} from '@hearth/vmm';
import {
  buildQemuArgs,
  diskFromArgs,
  guestSocketFromArgs,
  QEMU_BINARY,
  QEMU_MEMORY_DEFAULTS,
  runFiles,
  type QemuMemoryOptions,
  vmIdFromArgs,
} from './args.ts';
import { copyDisk, loadState, readSnapshotInfo } from './migration.ts';
import { isAbsolute, join } from 'node:path';
import { confineRunDir, processCwd, processIds } from './confine.ts';
import { findQemuByQmp, qmpPathOf } from './find-vmm.ts';
import { detectAccel, hostTscKhz, probeQemu } from './probe.ts';
import { QmpClient } from './qmp.ts';
import { QemuInstance } from './instance.ts';
import { kernelFormat } from './kernel-format.ts';

export class QemuLaunchError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'QemuLaunchError';
  }
}

export interface QemuDriverOptions {
  binary?: string;
  /** Force an accelerator (tests); default: detected. */
  accel?: 'kvm' | 'tcg';
  /** TCG's translation cache per VM in MiB (default `QEMU_MEMORY_DEFAULTS.tbSizeMib`). */
  tcgCacheMib?: number;
}

export class QemuDriver implements VmmDriver {
  readonly kind = 'qemu' as const;
  private readonly binary: string;
  /** How QEMU spends host memory on each VM: the defaults with this driver's cache size. */
  private readonly memory: QemuMemoryOptions;

  constructor(private readonly opts: QemuDriverOptions = {}) {
    this.binary = opts.binary ?? QEMU_BINARY;
    this.memory = { ...QEMU_MEMORY_DEFAULTS, tbSizeMib: opts.tcgCacheMib ?? QEMU_MEMORY_DEFAULTS.tbSizeMib };
  }

  probe(): Promise<VmmAvailability> {
    return probeQemu(this.binary).then(({ accelReason: _r, ...a }) => a);
  }

  private async accel(): Promise<'kvm' | 'tcg'> {
    return this.opts.accel ?? (await detectAccel()).accel;
  }

  launch(spec: VmmLaunchSpec): Promise<VmmInstance> {
    return this.start(spec);
  }

  /**
   * A fresh QEMU from a snapshot directory: the snapshot's disk copied (sparse, reflink where
   * the filesystem can) to `spec.diskPath`, QEMU started with `-incoming defer` and the state
   * file open as its standard input, which it then loads itself. The VM is left paused at the
   * saved instant; the caller resumes it once its host side (TAP, guest channel) is ready.
   */
  async restore(spec: VmmLaunchSpec, snapshotDir: string): Promise<VmmInstance> {
    const info = await readSnapshotInfo(snapshotDir);
    if (info.vmm !== 'qemu') {
      throw new QemuLaunchError(`Restoring failed: the snapshot was taken by ${info.vmm}, not QEMU`, '');
    }
    const have = await this.version();
    if (majorMinor(info.vmmVersion) !== majorMinor(have)) {
      throw new QemuLaunchError(
        `Restoring failed: the snapshot was written by QEMU ${info.vmmVersion} and this host has ${have}; QEMU only loads its own migration format`,
        '',
      );
    }
    await copyDisk(join(snapshotDir, info.files.disk), spec.diskPath);
    const state = await open(join(snapshotDir, info.files.state), 'r');
    let instance: QemuInstance;
    try {
      instance = await this.start(spec, state.fd);
    } finally {
      // QEMU holds its own copy of the descriptor.
      await state.close();
    }
    try {
      await loadState(instance.qmpClient);
    } catch (e) {
      await instance.kill();
      const said = lastLine((await readFile(runFiles(spec.runDir).stderr, 'utf8').catch(() => '')).trim());
      throw new Error(`${(e as Error).message}${said ? `: ${said}` : ''}`);
    }
    return instance;
  }

  /**
   * A QEMU waiting for a live migration (`-incoming defer -S`): same devices as `spec`, the disk
   * already at `spec.diskPath` (empty, of the source's size); the caller starts its NBD server
   * and listener (live-migration.ts). It stays paused once the migration completed.
   */
  receive(spec: VmmLaunchSpec): Promise<QemuInstance> {
    return this.start(spec, 'network');
  }

  /** This binary's version, asked once: a restore checks it every time. */
  private versionOnce: Promise<string | null> | null = null;
  private version(): Promise<string | null> {
    this.versionOnce ??= probeQemu(this.binary).then((p) => {
      if (!p.version) this.versionOnce = null;
      return p.version;
    });
    return this.versionOnce;
  }

  /**
   * `incoming`: the descriptor of a saved state QEMU is to load (`-incoming defer`), `network` for
   * a live migration (`-incoming defer -S`), else null.
   */
  private async start(
    spec: VmmLaunchSpec,
    incoming: number | 'network' | null = null,
  ): Promise<QemuInstance> {
    const files = runFiles(spec.runDir);
    for (const p of [files.qmp, files.console, spec.guestSocketPath]) {
      const tooLong = socketPathTooLong(p);
      if (tooLong) throw new QemuLaunchError(`Launching QEMU failed: ${tooLong}`, '');
    }
    const format = await kernelFormat(spec.kernelPath).catch((e: Error) => {
      throw new QemuLaunchError(`Launching QEMU failed: cannot read the kernel: ${e.message}`, '');
    });
    if (!format) {
      throw new QemuLaunchError(
        `Launching QEMU failed: ${spec.kernelPath} is neither an ELF vmlinux nor a bzImage kernel`,
        '',
      );
    }
    // Stale sockets from an earlier process would make QEMU fail to bind.
    await Promise.all(
      [files.qmp, files.console, files.pid, spec.guestSocketPath].map((p) => rm(p, { force: true })),
    );
    const accel = await this.accel();
    const tscKhz = accel === 'tcg' ? await hostTscKhz() : null;
    const cmdline = tscKhz ? `${spec.cmdline} tsc_early_khz=${tscKhz} tsc=reliable` : spec.cmdline;
    const confine = spec.confine ?? null;
    // Confined, QEMU runs in its run directory and names every file relative to it.
    const argSpec = confine ? await confineRunDir(spec, confine) : spec;
    const args = buildQemuArgs({ ...argSpec, cmdline }, accel, this.memory);
    // QEMU resolves its pid file's real path, which needs every directory above the run
    // directory: a confined QEMU cannot, so the agent writes the pid file itself.
    if (confine) args.splice(args.indexOf('-pidfile'), 2);
    if (incoming !== null) args.push('-incoming', 'defer');
    // Paused after a live migration until the source gave up the guest (never running twice).
    if (incoming === 'network') args.push('-S');
    const errFile = await open(files.stderr, 'w');
    let proc;
    try {
      // A restoring QEMU reads its saved state from its standard input (migration.ts: fd:0).
      proc = spawnDetached(this.binary, args, {
        stdio: [typeof incoming === 'number' ? incoming : 'ignore', errFile.fd, errFile.fd],
        ...(confine ? { cwd: spec.runDir, uid: confine.uid, gid: confine.gid } : {}),
      });
    } finally {
      await errFile.close();
    }
    const child = proc.child;
    // Into the VM's cgroup at once: guest RAM touched before the move would stay charged elsewhere.
    if (confine && child.pid) {
      await joinCgroup(confine.cgroupProcs, child.pid).catch((e: Error) => {
        killQuietly(child.pid);
        throw new QemuLaunchError(
          `Launching QEMU failed: moving it into its cgroup failed: ${e.message}`,
          '',
        );
      });
      await writeFile(files.pid, `${child.pid}\n`, { mode: 0o644 });
    }

    const stderr = () => readFile(files.stderr, 'utf8').catch(() => '');
    const deadline = Date.now() + 15_000;
    let qmp: QmpClient | null = null;
    while (!qmp) {
      const spawnError = proc.error();
      if (spawnError) throw new QemuLaunchError(`Launching QEMU failed: ${spawnError.message}`, '');
      const exited = proc.exit();
      if (exited) {
        const text = (await stderr()).trim();
        throw new QemuLaunchError(
          `Launching QEMU failed: it exited with ${describeExit(exited)}: ${lastLine(text) || 'no output'}`,
          text,
        );
      }
      if (Date.now() > deadline) {
        killQuietly(child.pid);
        throw new QemuLaunchError(
          'Launching QEMU failed: its QMP socket did not appear within 15 s',
          await stderr(),
        );
      }
      try {
        qmp = await QmpClient.connect(files.qmp, 5000);
      } catch {
        await sleep(5);
      }
    }
    const instance = new QemuInstance(child.pid!, accel, qmp, spec.guestSocketPath, {
      vmId: spec.vmId,
      disk: spec.diskPath,
      confined: Boolean(confine),
    });
    child.on('exit', (code, signal) => instance.noteExitCode(code, signal));
    const exited = proc.exit();
    if (exited) instance.noteExitCode(exited.code, null);
    return instance;
  }

  async adopt(runDir: string): Promise<VmmInstance | null> {
    const files = runFiles(runDir);
    let pid = await readPidFile(files.pid);
    if (!pid || !pidAlive(pid)) {
      // No pid file but a QMP socket: maybe a VMM whose agent died before writing the file.
      const found = (await access(files.qmp).then(
        () => true,
        () => false,
      ))
        ? await findQemuByQmp(files.qmp)
        : null;
      if (!found) return null;
      pid = found;
      await writeFile(files.pid, `${pid}\n`, { mode: 0o644 });
    }
    const cmdline = await processArgv(pid);
    const cwd = await processCwd(pid);
    // The pid may have been reused by an unrelated process: require our own QMP path on its command line.
    if (qmpPathOf(cmdline, cwd) !== files.qmp) return null;
    const abs = (p: string | null) => (p && !isAbsolute(p) && cwd ? join(cwd, p) : p);
    const confined = ((await processIds(pid))?.uid ?? 0) !== 0;
    const accelIdx = cmdline.indexOf('-accel');
    const accel = cmdline[accelIdx + 1] === 'kvm' ? 'kvm' : 'tcg';
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(files.qmp, 5000);
    } catch (e) {
      // Our QEMU (verified above), but unreachable: an unmanageable VMM must not keep the disk.
      await killAndWait(pid);
      throw new Error(`the VMM (pid ${pid}) did not answer QMP (${(e as Error).message}); it was killed`);
    }
    return new QemuInstance(pid, accel, qmp, abs(guestSocketFromArgs(cmdline)), {
      vmId: vmIdFromArgs(cmdline),
      disk: abs(diskFromArgs(cmdline)),
      confined,
    });
  }
}

function majorMinor(v: string | null | undefined): string {
  return (v ?? '').split('.').slice(0, 2).join('.');
}
