import { chmod, chown, copyFile, link, open, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { VmmConfinement, VmmLaunchSpec } from '@hearth/vmm';

/**
 * QEMU's seccomp filter: no obsolete system calls, no set*id (it never needs to change ids: it
 * starts as the VM's uid), no fork/exec (no helper scripts, no `exec:` migration), no
 * scheduler or resource-limit changes.
 */
export const QEMU_SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny';

/** Names the kernel, initrd and volumes get inside a confined VM's run directory. */
const KERNEL = 'vmlinux';
const INITRD = 'initrd.img';
const volumeLink = (id: string) => `vol-${id}.img`;

/**
 * Prepares a run directory for a QEMU that runs as the VM's own uid with the run directory as
 * its working directory, and returns the spec with every path relative to it. Paths above the run
 * directory are never looked up by the confined process (the agent's data directory stays 0700),
 * so nothing else on the host is reachable by name.
 *
 * - The directory: root-owned, group the VM's gid, mode 1770: QEMU creates its sockets and pid
 *   file in it, but the sticky bit keeps it from renaming or deleting the agent's files (spec.json,
 *   state.json). Other VMs' uids cannot even enter it.
 * - The root disk and attached volumes (hard-linked in): owned by the VM's uid, mode 0600.
 * - The config disk and console log: root's, readable (log: writable) by the VM's group only.
 * - Kernel and initrd: hard-linked in when world-readable already, else copied in for its group.
 */
export async function confineRunDir(spec: VmmLaunchSpec, c: VmmConfinement): Promise<VmmLaunchSpec> {
  const dir = spec.runDir;
  await chown(dir, 0, c.gid);
  await chmod(dir, 0o1770);
  const inside = (p: string) => {
    const r = relative(dir, p);
    if (r.startsWith('..') || isAbsolute(r)) throw new Error(`${p} is not in the run directory ${dir}`);
    return r;
  };
  await handOver(spec.diskPath, c.uid, c.gid, 0o600);
  if (spec.configDiskPath) await handOver(spec.configDiskPath, 0, c.gid, 0o640);
  await (await open(spec.consoleLogPath, 'a')).close();
  await handOver(spec.consoleLogPath, 0, c.gid, 0o660);
  const kernelPath = await shareInto(dir, spec.kernelPath, KERNEL, c.gid);
  const initrdPath = spec.initrdPath ? await shareInto(dir, spec.initrdPath, INITRD, c.gid) : null;
  // Volumes attached at an earlier boot but not now must not stay reachable.
  for (const n of await readdir(dir)) if (/^vol-.*\.img$/.test(n)) await rm(join(dir, n), { force: true });
  const volumes = [];
  for (const v of spec.volumes ?? []) {
    const name = volumeLink(v.id);
    await link(v.path, join(dir, name));
    await handOver(join(dir, name), c.uid, c.gid, 0o600);
    volumes.push({ ...v, path: name });
  }
  return {
    ...spec,
    runDir: '.',
    diskPath: inside(spec.diskPath),
    configDiskPath: spec.configDiskPath ? inside(spec.configDiskPath) : null,
    consoleLogPath: inside(spec.consoleLogPath),
    guestSocketPath: inside(spec.guestSocketPath),
    kernelPath,
    initrdPath,
    volumes,
  };
}

async function handOver(path: string, uid: number, gid: number, mode: number): Promise<void> {
  await chown(path, uid, gid);
  await chmod(path, mode);
}

/** A file the VM's uid may read, in its run directory: a hard link when world-readable, else a copy. */
async function shareInto(dir: string, src: string, name: string, gid: number): Promise<string> {
  const dst = join(dir, name);
  const [s, d] = await Promise.all([stat(src), stat(dst).catch(() => null)]);
  if (d && d.dev === s.dev && d.ino === s.ino) return name;
  if (d && d.nlink === 1 && d.size === s.size && d.mtimeMs >= s.mtimeMs && d.gid === gid) return name;
  await rm(dst, { force: true });
  if (s.mode & 0o004) {
    const linked = await link(src, dst).then(
      () => true,
      () => false,
    );
    if (linked) return name;
  }
  await copyFile(src, dst);
  await handOver(dst, 0, gid, 0o640);
  return name;
}

/** The uid and gid a running process has, from /proc (null when gone). */
export async function processIds(pid: number): Promise<{ uid: number; gid: number } | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (!status) return null;
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  const gid = Number(/^Gid:\s+(\d+)/m.exec(status)?.[1]);
  return Number.isFinite(uid) && Number.isFinite(gid) ? { uid, gid } : null;
}

/** A process's working directory (relative paths on its command line are against it). */
export function processCwd(pid: number): Promise<string | null> {
  return readlink(`/proc/${pid}/cwd`).catch(() => null);
}
