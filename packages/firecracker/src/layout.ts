import { isAbsolute, join, relative } from 'node:path';

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes including the NUL). */
export const UNIX_PATH_MAX = 107;
/** Drive and interface ids: Firecracker accepts only letters, digits and `_`. */
export const ROOT_DRIVE_ID = 'rootfs';
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
    apiSock: join(runDir, 'api.sock'),
    logFile: join(runDir, 'firecracker.log'),
    metricsFifo: join(runDir, 'metrics.fifo'),
    ...runDirFiles(runDir),
    jail: null,
  };
}

export function runDirFiles(runDir: string) {
  return {
    consoleIn: join(runDir, 'console.in'),
    pidFile: join(runDir, 'firecracker.pid'),
    stderrFile: join(runDir, 'firecracker.stderr'),
    stateFile: join(runDir, 'firecracker.json'),
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
    const n = Buffer.byteLength(p);
    if (n > UNIX_PATH_MAX) {
      throw new Error(
        `socket path ${p} is ${n} bytes, longer than the ${UNIX_PATH_MAX} Linux allows; use a shorter data directory`,
      );
    }
  }
}
