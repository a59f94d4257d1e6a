import { link, copyFile, mkdir, open, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  describeExit,
  GUEST_AGENT_VSOCK_PORT,
  killAndWait,
  killQuietly,
  lastLine,
  pidAlive,
  readPidFile,
  processArgv,
  type VmmLaunchSpec,
} from '@hearth/vmm';
import { FirecrackerApi, FirecrackerApiError, waitForSocket } from './api-client.ts';
import { configCalls, mmdsData, type ApiCall } from './config.ts';
import { mkfifo } from './exec.ts';
import { FirecrackerInstance, type WatchdogOptions } from './instance.ts';
import { cleanupJail, jailerArgs, jailId, jailPidFile, prepareJail } from './jailer.ts';
import { checkSocketPaths, fcPath, IFACE_ID, type FcLayout } from './layout.ts';
import { MetricsReader } from './metrics.ts';
import { SNAPSHOT_FILES, type FirecrackerSnapshotInfo } from './snapshot.ts';
import { mergeChainMemory, type SnapshotChain } from './snapshot-chain.ts';
import { spawnDetached } from './spawn.ts';

export class FirecrackerLaunchError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'FirecrackerLaunchError';
  }
}

export interface LaunchContext {
  binary: string;
  jailer: { binary: string; parentCgroup: string; netns: string | null } | null;
  version: string | null;
  trackDirtyPages: boolean;
  startTimeoutMs: number;
  apiTimeoutMs: number;
  tapBusyWaitMs: number;
  watchdog: WatchdogOptions;
  pollMs: number;
  log: Logger | null;
}

/** What the VM boots from: a fresh configuration, or a snapshot already staged in the root. */
export type LaunchMode =
  { kind: 'boot' } | { kind: 'restore'; info: FirecrackerSnapshotInfo; dir: string; chain?: SnapshotChain };

/** Where a restore stages the snapshot's state and memory files (inside Firecracker's root). */
export const RESTORE_STATE = 'restore.vmstate';
export const RESTORE_MEMORY = 'restore.mem';

/** Saved in the run directory so that a restarted agent can adopt the process. */
export interface InstanceRecord {
  vmId: string;
  layout: FcLayout;
  guestSocket: string;
  consoleLogPath: string;
  consoleFrom: number;
  version: string | null;
  diskPath: string;
  fcDrivePath: string;
  fcVsockPath: string;
  hasNic: boolean;
  trackDirtyPages: boolean;
  /** The snapshot this process last took or was restored from (a diff snapshot's base). */
  lastSnapshot?: string | null;
}

/** Names Firecracker uses for this VM's disk and vsock: the same for every VM (see FcLayout). */
export function fcNames(layout: FcLayout, spec: VmmLaunchSpec) {
  const jailed = layout.mode === 'jailer';
  if (jailed && spec.volumes?.length) {
    // Volumes would have to be hard-linked into the jail like the root disk; not done yet.
    throw new Error('Launching Firecracker failed: data volumes are not supported under the jailer yet');
  }
  return {
    drive: jailed ? basename(spec.diskPath) : fcPath(layout, spec.diskPath),
    config: spec.configDiskPath
      ? jailed
        ? basename(spec.configDiskPath)
        : fcPath(layout, spec.configDiskPath)
      : null,
    vsock: jailed ? basename(spec.guestSocketPath) : fcPath(layout, spec.guestSocketPath),
    guestHost: jailed ? join(layout.root, basename(spec.guestSocketPath)) : spec.guestSocketPath,
  };
}

/** TAP busy: a previous Firecracker of this VM may still hold the TAP; wait until it is gone. */
export async function awaitPreviousGone(layout: FcLayout, waitMs: number): Promise<void> {
  const pid = await readPidFile(layout.pidFile);
  if (!pid || !pidAlive(pid)) return;
  const argv = await processArgv(pid);
  if (!argv.includes(layout.apiSock) && !(layout.jail && argv.includes(layout.jail.id))) return;
  const deadline = Date.now() + waitMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(20);
  if (!pidAlive(pid)) return;
  await killAndWait(pid, 2000);
}

/** Spawns Firecracker (jailed or not), configures it for `mode` and returns the running instance. */
export async function launchFirecracker(
  ctx: LaunchContext,
  layout: FcLayout,
  spec: VmmLaunchSpec,
  mode: LaunchMode,
): Promise<FirecrackerInstance> {
  const names = fcNames(layout, spec);
  checkSocketPaths(layout.apiSock, names.guestHost, GUEST_AGENT_VSOCK_PORT);
  await awaitPreviousGone(layout, ctx.tapBusyWaitMs);
  // Firecracker refuses to start on an existing API socket and never removes one; the vsock
  // socket must not exist either. A leftover jail or cgroup would make the jailer fail.
  await cleanupJail(layout);
  await mkdir(layout.runDir, { recursive: true });
  await Promise.all(
    [layout.apiSock, names.guestHost, spec.guestSocketPath, layout.pidFile, layout.metricsFifo].map((p) =>
      rm(p, { force: true }),
    ),
  );
  let kernel = spec.kernelPath;
  let initrd = spec.initrdPath;
  if (layout.jail) {
    const staged = await prepareJail(layout, {
      kernel,
      initrd,
      disk: spec.diskPath,
      config: spec.configDiskPath ?? null,
    });
    kernel = staged.kernel;
    initrd = staged.initrd;
    // The vsock socket lives in the jail; the usual path points at it for anyone looking there.
    await symlink(names.guestHost, spec.guestSocketPath);
  } else {
    await mkfifo(layout.metricsFifo);
    await writeFile(layout.logFile, '', { flag: 'a' });
  }
  if (mode.kind === 'restore') {
    // The memory file is mapped copy-on-write for the VM's whole life: a link of its own keeps it
    // there even if the snapshot is deleted meanwhile.
    await stageFile(join(mode.dir, SNAPSHOT_FILES.state), join(layout.root, RESTORE_STATE));
    if (mode.chain?.diffs.length) {
      // A diff's memory is only the pages changed since its base: merged onto a copy of the base.
      await mergeChainMemory(mode.chain, join(layout.root, RESTORE_MEMORY), layout.jail);
    } else {
      await stageFile(join(mode.dir, SNAPSHOT_FILES.memory), join(layout.root, RESTORE_MEMORY));
    }
  }
  const consoleFrom = (await stat(spec.consoleLogPath).catch(() => ({ size: 0 }))).size;
  const id = jailId(spec.vmId);
  const cmd = layout.jail ? ctx.jailer!.binary : ctx.binary;
  const args = layout.jail
    ? jailerArgs({
        binary: ctx.jailer!.binary,
        exec: ctx.binary,
        layout,
        parentCgroup: ctx.jailer!.parentCgroup,
        vcpus: spec.vcpus,
        memoryMib: spec.memoryMib,
        netns: ctx.jailer!.netns,
        firecrackerArgs: ['--api-sock', basename(layout.apiSock)],
      })
    : ['--api-sock', layout.apiSock, '--id', id];
  const proc = await spawnDetached(cmd, args, {
    cwd: layout.root,
    consoleIn: layout.consoleIn,
    consoleLog: spec.consoleLogPath,
    stderrFile: layout.stderrFile,
  });
  const stderr = () => readFile(layout.stderrFile, 'utf8').catch(() => '');
  const fail = async (why: string, pid?: number) => {
    if (pid) killQuietly(pid);
    killQuietly(proc.child.pid);
    await cleanupJail(layout).catch(() => undefined);
    const text = (await stderr()).trim();
    return new FirecrackerLaunchError(`Launching Firecracker failed: ${why}`, text);
  };
  const jailPid = async () => (layout.jail ? await readPidFile(jailPidFile(layout, ctx.binary)) : 0);
  try {
    await waitForSocket(
      layout.apiSock,
      async () => {
        const err = proc.error();
        if (err) return err.message;
        const x = proc.exit();
        // With --new-pid-ns the jailer itself exits once Firecracker is forked: only a
        // failure of the jailer, or the forked Firecracker dying, ends the wait.
        if (x && (!layout.jail || x.code !== 0)) {
          const last = lastLine((await stderr()).trim()) || 'no output';
          return `${basename(cmd)} exited with ${describeExit(x)}: ${last}`;
        }
        const pid = await jailPid();
        if (layout.jail && x && pid && !pidAlive(pid)) return 'the jailed Firecracker exited during start';
        return null;
      },
      ctx.startTimeoutMs,
    );
  } catch (e) {
    throw await fail((e as Error).message, await jailPid());
  }
  const pid = layout.jail ? await jailPid() : proc.child.pid!;
  if (!pid) throw await fail('the jailer wrote no Firecracker pid file');
  await writeFile(layout.pidFile, `${pid}\n`);
  const record: InstanceRecord = {
    vmId: spec.vmId,
    layout,
    guestSocket: names.guestHost,
    consoleLogPath: spec.consoleLogPath,
    consoleFrom,
    version: ctx.version,
    diskPath: spec.diskPath,
    fcDrivePath: names.drive,
    fcVsockPath: names.vsock,
    hasNic: mode.kind === 'restore' ? mode.info.firecracker.hasNic : Boolean(spec.tap),
    trackDirtyPages: mode.kind === 'restore' ? mode.info.firecracker.trackDirtyPages : ctx.trackDirtyPages,
    lastSnapshot: mode.kind === 'restore' ? resolve(mode.dir) : null,
  };
  await writeFile(layout.stateFile, JSON.stringify(record, null, 2) + '\n');
  const instance = instanceFor(ctx, record, pid, layout.jail ? null : proc.child);
  const calls =
    mode.kind === 'boot'
      ? configCalls({
          spec,
          logPath: fcPath(layout, layout.logFile),
          metricsPath: fcPath(layout, layout.metricsFifo),
          kernelPath: kernel,
          initrdPath: initrd,
          diskPath: names.drive,
          configDiskPath: names.config,
          vsockPath: names.vsock,
          trackDirtyPages: ctx.trackDirtyPages,
        })
      : restoreCalls(layout, spec, mode);
  try {
    for (const call of calls) await putWithTapRetry(instance.api, call, ctx.tapBusyWaitMs);
  } catch (e) {
    await instance.kill().catch(() => undefined);
    const msg =
      e instanceof FirecrackerApiError ? e.message : `configuring it failed: ${(e as Error).message}`;
    throw new FirecrackerLaunchError(`Launching Firecracker failed: ${msg}`, (await stderr()).trim());
  }
  return instance;
}

export function instanceFor(
  ctx: LaunchContext,
  r: InstanceRecord,
  pid: number,
  child: import('node:child_process').ChildProcess | null,
): FirecrackerInstance {
  let metrics: MetricsReader | null = null;
  try {
    metrics = new MetricsReader(r.layout.metricsFifo);
  } catch (e) {
    ctx.log?.warn({ err: (e as Error).message }, 'opening the metrics FIFO failed; metrics are off');
  }
  return new FirecrackerInstance({
    pid,
    layout: r.layout,
    api: new FirecrackerApi(r.layout.apiSock, ctx.apiTimeoutMs),
    guestSocket: r.guestSocket,
    consoleLogPath: r.consoleLogPath,
    consoleFrom: r.consoleFrom,
    version: r.version,
    vmId: r.vmId,
    diskPath: r.diskPath,
    fcDrivePath: r.fcDrivePath,
    fcVsockPath: r.fcVsockPath,
    hasNic: r.hasNic,
    trackDirtyPages: r.trackDirtyPages,
    lastSnapshot: r.lastSnapshot ?? null,
    metrics,
    child,
    watchdog: ctx.watchdog,
    pollMs: ctx.pollMs,
    onGone: () => cleanupJail(r.layout),
    log: ctx.log,
  });
}

/** Only logger and metrics may precede the load; MMDS data is not in snapshots and is put again. */
function restoreCalls(
  layout: FcLayout,
  spec: VmmLaunchSpec,
  mode: Extract<LaunchMode, { kind: 'restore' }>,
): ApiCall[] {
  const nic = mode.info.firecracker.hasNic;
  return [
    {
      method: 'PUT',
      path: '/logger',
      body: { log_path: fcPath(layout, layout.logFile), level: 'Warning', show_level: true },
    },
    { method: 'PUT', path: '/metrics', body: { metrics_path: fcPath(layout, layout.metricsFifo) } },
    {
      method: 'PUT',
      path: '/snapshot/load',
      body: {
        snapshot_path: RESTORE_STATE,
        mem_backend: { backend_type: 'File', backend_path: RESTORE_MEMORY },
        track_dirty_pages: mode.info.firecracker.trackDirtyPages,
        resume_vm: true,
        ...(nic && spec.tap
          ? { network_overrides: [{ iface_id: IFACE_ID, host_dev_name: spec.tap.name }] }
          : {}),
      },
    },
    ...(nic ? [{ method: 'PUT' as const, path: '/mmds', body: mmdsData(spec) }] : []),
  ];
}

const TAP_BUSY = /resource busy|EBUSY|os error 16/i;

/** A TAP still held by a dying process answers EBUSY for a moment: retry until it lets go. */
async function putWithTapRetry(api: FirecrackerApi, call: ApiCall, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await api.call(call.method, call.path, call.body);
      return;
    } catch (e) {
      const busy =
        e instanceof FirecrackerApiError &&
        call.path.startsWith('/network-interfaces/') &&
        TAP_BUSY.test(e.faultMessage);
      if (!busy || Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

/** Stages a snapshot's files in the VM's root by hard link (copy across filesystems). */
export async function stageFile(src: string, dst: string): Promise<void> {
  await rm(dst, { force: true });
  await link(src, dst).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EXDEV') throw e;
    await copyFile(src, dst);
  });
}

/** True when the file starts with the ELF magic: Firecracker boots only an uncompressed vmlinux. */
export async function isElf(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    await fh.close();
  }
}
