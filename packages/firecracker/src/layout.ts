import { isAbsolute, join, relative } from 'node:path';
import { RUN_DIR_FILES, runDirPaths, socketPathTooLong } from '@hearth/vmm';
/** Drive and interface ids: Firecracker accepts only letters, digits and `_`. */
export const ROOT_DRIVE_ID = 'rootfs';
/** The read-only per-boot configuration drive (raw, length-prefixed JSON). */
export const CONFIG_DRIVE_ID = 'config';
export const IFACE_ID = 'eth0';
export const GUEST_CID = 3;

/**
 * Where one VM's Firecracker files live. Firecracker's working directory is `root` (the run
 * directory, or the jail's root when jailed) and every path handed to its API is relative to
 * it whenever the file sits inside: snapshots bake drive and vsock paths in, and relative ones
 * mean "this VM's file" for whichever VM restores the snapshot.
 */
export interface FcLayout {
  mode: 'direct' | 'jailer';
  runDir: string;
  /** Host directory that Firecracker sees as its working directory. */
  root: string;
  /** Host paths. */
  apiSock: string;
  logFile: string;
  metricsFifo: string;
  consoleIn: string;
  pidFile: string;
  stderrFile: string;
  stateFile: string;
  /** Jailer only: the chroot directory and the cgroup, removed when the VM is gone. */
  jail: { id: string; base: string; uid: number; gid: number; cgroup: string | null } | null;
}

export function directLayout(runDir: string): FcLayout {
  return {
    mode: 'direct',
    runDir,
    root: runDir,
    ...rootFiles(runDir),
    ...runDirFiles(runDir),
    jail: null,
  };
}

/** Files that live where Firecracker runs: the run directory, or the jail's root when jailed. */
export function rootFiles(root: string) {
  return {
    apiSock: join(root, RUN_DIR_FILES.apiSocket),
    logFile: join(root, RUN_DIR_FILES.firecrackerLog),
    metricsFifo: join(root, RUN_DIR_FILES.metricsFifo),
  };
}

/** Files that always live in the run directory, jailed or not. */
export function runDirFiles(runDir: string) {
  const f = runDirPaths(runDir);
  return {
    consoleIn: f.consoleIn,
    pidFile: f.firecrackerPid,
    stderrFile: f.firecrackerStderr,
    stateFile: f.firecrackerState,
  };
}

/** The path Firecracker is given for a host file: relative to its working directory when inside it. */
export function fcPath(layout: FcLayout, hostPath: string): string {
  const rel = relative(layout.root, hostPath);
  if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
  if (layout.mode === 'jailer') throw new Error(`${hostPath} is outside the jail ${layout.root}`);
  return hostPath;
}

/** The host path of a file Firecracker names (inverse of fcPath). */
export function hostPath(layout: FcLayout, fcName: string): string {
  return isAbsolute(fcName) && layout.mode === 'direct' ? fcName : join(layout.root, fcName);
}

/** Refuses socket paths the kernel would truncate, including the vsock's `<uds>_<port>` listeners. */
export function checkSocketPaths(apiSock: string, vsockUds: string, vsockPort: number): void {
  for (const p of [apiSock, vsockUds, `${vsockUds}_${vsockPort}`]) {
    const tooLong = socketPathTooLong(p);
    if (tooLong) throw new Error(tooLong);
  }
}
