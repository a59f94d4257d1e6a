import {
  chmod,
  chown,
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkfifo } from './exec.ts';
import { rootFiles, runDirFiles, type FcLayout } from './layout.ts';

export interface JailerConfig {
  binary: string;
  /** The jail lives in `<chrootBase>/<exec name>/<id>/root`; keep it on the data directory's filesystem. */
  chrootBase: string;
  /** Where cgroup v2 is mounted; jailer makes `<cgroupRoot>/<parentCgroup>/<id>`. */
  cgroupRoot: string;
  parentCgroup: string;
  /** One uid (and the same gid) per VM, from this range. */
  uidRange: [number, number];
}

export const JAILER_DEFAULTS = {
  chrootBase: '/srv/jailer',
  cgroupRoot: '/sys/fs/cgroup',
  parentCgroup: 'firecracker',
  uidRange: [900_000, 965_535] as [number, number],
};

/** Jailer ids allow letters, digits and `-` only (at most 64): `vm_01j…` becomes `vm-01j…`. */
export function jailId(vmId: string): string {
  const id = vmId.replace(/[^A-Za-z0-9-]/g, '-');
  if (!id || id.length > 64) throw new Error(`VM id ${vmId} cannot be a jailer id (1-64 letters, digits, -)`);
  return id;
}

export function jailLayout(
  runDir: string,
  cfg: JailerConfig,
  exec: string,
  vmId: string,
  uid: number,
): FcLayout {
  const id = jailId(vmId);
  const root = join(cfg.chrootBase, basename(exec), id, 'root');
  return {
    mode: 'jailer',
    runDir,
    root,
    ...rootFiles(root),
    ...runDirFiles(runDir),
    jail: { id, base: cfg.chrootBase, uid, gid: uid, cgroup: join(cfg.cgroupRoot, cfg.parentCgroup, id) },
  };
}

export interface JailerArgsInput {
  binary: string;
  exec: string;
  layout: FcLayout;
  parentCgroup: string;
  vcpus: number;
  memoryMib: number;
  netns: string | null;
  firecrackerArgs: string[];
}

/**
 * The jailer's argv. `--new-pid-ns` makes the jailer fork: Firecracker's pid is then read from
 * `<root>/<exec name>.pid`. No `--daemonize`: it would point stdio at /dev/null, and stdout is
 * the serial console we capture. CPU is capped at the VM's vCPUs; memory at guest RAM plus room
 * for Firecracker itself and its page cache of the snapshot memory file.
 */
export function jailerArgs(i: JailerArgsInput): string[] {
  const j = i.layout.jail!;
  return [
    '--id',
    j.id,
    '--exec-file',
    i.exec,
    '--uid',
    String(j.uid),
    '--gid',
    String(j.gid),
    '--chroot-base-dir',
    j.base,
    '--new-pid-ns',
    '--cgroup-version',
    '2',
    '--parent-cgroup',
    i.parentCgroup,
    '--cgroup',
    `cpu.max=${i.vcpus * 100_000} 100000`,
    '--cgroup',
    `memory.max=${(i.memoryMib + 128) * 1024 * 1024}`,
    '--resource-limit',
    'no-file=2048',
    ...(i.netns ? ['--netns', i.netns] : []),
    '--',
    ...i.firecrackerArgs,
  ];
}

/** The jail's pid file: written by the jailer for the forked Firecracker (host pid namespace). */
export function jailPidFile(layout: FcLayout, exec: string): string {
  return join(layout.root, `${basename(exec)}.pid`);
}

/** Lowest uid of the range not owning an existing jail (a uid per VM keeps VMs apart). */
export async function allocateUid(cfg: JailerConfig, exec: string, reserved: Set<number>): Promise<number> {
  const dir = join(cfg.chrootBase, basename(exec));
  const used = new Set(reserved);
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(join(dir, id, 'root')).catch(() => null);
    if (s) used.add(s.uid);
  }
  for (let uid = cfg.uidRange[0]; uid <= cfg.uidRange[1]; uid++) if (!used.has(uid)) return uid;
  throw new Error(`every uid in ${cfg.uidRange.join('-')} already owns a jail`);
}

export interface JailFiles {
  kernel: string;
  initrd: string | null;
  disk: string;
  /** The per-boot configuration disk, if any. */
  config?: string | null;
}

/**
 * Fills the chroot: kernel, initrd and disk hard-linked (the disk must stay the VM's own file,
 * so it is never copied), the log file and metrics FIFO made inside, all owned by the VM's uid.
 * Returns the names Firecracker will use (relative to the jail root).
 */
export async function prepareJail(layout: FcLayout, files: JailFiles): Promise<JailFiles> {
  const j = layout.jail!;
  await mkdir(layout.root, { recursive: true });
  await chown(layout.root, j.uid, j.gid);
  const kernel = await linkInto(layout, files.kernel, 'vmlinux', true);
  const initrd = files.initrd ? await linkInto(layout, files.initrd, 'initrd.img', true) : null;
  const disk = await linkInto(layout, files.disk, basename(files.disk), false);
  await chown(join(layout.root, disk), j.uid, j.gid);
  // The VM's data: its own uid's alone, never world-readable.
  await chmod(join(layout.root, disk), 0o600);
  // The configuration disk is a copy (it is tiny): the jailed uid owns the copy, never the agent's file.
  const config = files.config ? basename(files.config) : null;
  if (files.config && config) {
    await rm(join(layout.root, config), { force: true });
    await copyFile(files.config, join(layout.root, config));
    await chown(join(layout.root, config), j.uid, j.gid);
  }
  await writeFile(layout.logFile, '', { mode: 0o600 });
  await chown(layout.logFile, j.uid, j.gid);
  await mkfifo(layout.metricsFifo);
  await chown(layout.metricsFifo, j.uid, j.gid);
  return { kernel, initrd, disk, config };
}

async function linkInto(layout: FcLayout, src: string, name: string, mayCopy: boolean): Promise<string> {
  const dst = join(layout.root, name);
  await rm(dst, { force: true });
  try {
    await link(src, dst);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV' || !mayCopy) {
      throw new Error(
        `hard-linking ${src} into the jail ${layout.root} failed (${(e as NodeJS.ErrnoException).code}): the chroot base must be on the same filesystem as the agent's data directory`,
      );
    }
    await copyFile(src, dst);
  }
  return name;
}

/**
 * Removes the jail directory and the VM's cgroup. Safe to call on every exit path and for
 * leftovers: missing pieces are fine; processes still in the cgroup (a Firecracker whose agent
 * died) are killed first, since a cgroup with members cannot be removed.
 */
export async function cleanupJail(layout: FcLayout): Promise<void> {
  const j = layout.jail;
  if (!j) return;
  await rm(join(layout.root, '..'), { recursive: true, force: true });
  if (!j.cgroup) return;
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(j.cgroup);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' && code !== 'ENOTEMPTY') throw e;
    }
    const procs = await readFile(join(j.cgroup, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(20);
  }
  throw new Error(`removing the cgroup ${j.cgroup} failed: it still has processes`);
}
