import { execFile } from 'node:child_process';
import { open, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { HearthError } from '@hearth/contract';
import { runOnUntrustedDisk } from '@hearth/images';
import { findCarriedKernel, type CarriedKernel } from './disk-kernel.ts';
import { isExt4 } from './ext4.ts';
import type { Progress } from './image-service.ts';
import { ext4At, GPT_LINUX_ROOT_X86_64, readPartitionTable, type Partition } from './partitions.ts';

const run = promisify(execFile);

/** What a rootfs import unpacked from a whole-disk image, kept in the image's `meta.disk`. */
export interface DiskImageMeta {
  format: 'qcow2' | 'raw';
  table: 'gpt' | 'mbr' | 'none';
  /** The root partition's number (`/dev/vdaN` on the disk's own machine); 0: the whole disk. */
  partition: number;
  offsetBytes: number;
  sizeBytes: number;
  /** The kernel and initramfs found on the disk (file names), registered as images of their own. */
  kernel?: string;
  initrd?: string | null;
}

/** The largest virtual size of a qcow2 image an import unpacks (the raw copy is sparse). */
export const MAX_VIRTUAL_BYTES = 256 * 2 ** 30;

/** Files that tell a root filesystem from a /boot or data partition. */
const ROOT_MARKERS = ['/sbin/init', '/etc/os-release', '/usr/lib/os-release', '/etc/inittab'];

async function isQcow2(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    return bytesRead === 4 && b.toString('latin1') === 'QFI\xfb';
  } finally {
    await fh.close();
  }
}

const invalid = (what: string, why: string) =>
  new HearthError('IMAGE_FORMAT_INVALID', `${what} failed: ${why}.`);

/**
 * Checks a qcow2 image before converting it: a backing file or an external data file would make
 * qemu-img read another file on this host (another tenant's image, say), so only self-contained
 * images are taken. qemu-img reads the untrusted header unprivileged (`info` opens no backing file).
 */
async function qcow2VirtualSize(file: string, what: string): Promise<number> {
  const r = await runOnUntrustedDisk(
    file,
    (dev) => ['qemu-img', 'info', '--output=json', '-f', 'qcow2', dev],
    { readOnly: true, timeoutMs: 60_000 },
  );
  if (r.code !== 0)
    throw invalid(what, `it is not a readable qcow2 image (${r.stderr.trim().slice(0, 300)})`);
  const info = JSON.parse(r.stdout) as {
    'virtual-size'?: number;
    'backing-filename'?: string;
    'format-specific'?: { data?: { 'data-file'?: string } };
  };
  if (info['backing-filename'])
    throw invalid(what, 'the qcow2 image has a backing file; flatten it first (qemu-img convert -O qcow2)');
  if (info['format-specific']?.data?.['data-file'])
    throw invalid(
      what,
      'the qcow2 image keeps its data in an external file; only self-contained images are taken',
    );
  const size = info['virtual-size'] ?? 0;
  if (size <= 0 || size > MAX_VIRTUAL_BYTES)
    throw invalid(what, `the qcow2 image's virtual size (${size} bytes) is not between 1 byte and 256 GiB`);
  return size;
}

/** True when the ext4 filesystem `offset` bytes into `raw` holds one of the root markers (debugfs reads at an offset: no mount, no copy). */
async function looksLikeRoot(raw: string, offset: number): Promise<boolean> {
  const r = await runOnUntrustedDisk(raw, (dev) => ['debugfs', '-f', '-', `${dev}?offset=${offset}`], {
    readOnly: true,
    timeoutMs: 60_000,
    stdin: ROOT_MARKERS.map((p) => `stat ${p}\n`).join(''),
  }).catch(() => ({ stdout: '' }));
  return /^Inode:/m.test(r.stdout);
}

/**
 * The root partition: among the partitions that hold ext4, the first (GPT's x86-64 root type
 * first, then the largest) with /sbin/init, an os-release or an inittab; failing that, the first.
 * `ext4` lists every ext4 partition (a separate /boot is one of them).
 */
async function pickRoot(
  raw: string,
  parts: Partition[],
): Promise<{ root: Partition | null; ext4: Partition[] }> {
  const ext4: Partition[] = [];
  for (const p of parts) if (await ext4At(raw, p.start)) ext4.push(p);
  ext4.sort(
    (a, b) =>
      Number(b.type === GPT_LINUX_ROOT_X86_64) - Number(a.type === GPT_LINUX_ROOT_X86_64) || b.size - a.size,
  );
  for (const p of ext4) if (await looksLikeRoot(raw, p.start)) return { root: p, ext4 };
  return { root: ext4[0] ?? null, ext4 };
}

/**
 * Unpacks a whole-disk image (raw, or qcow2 converted with qemu-img; GPT or MBR) into the bare ext4
 * of its root partition, which the rest of the image pipeline takes as it takes any ext4 rootfs
 * (docs/decisions/0017-partitioned-images.md). Null when `file` is a bare ext4 already, or no disk
 * image at all (the format check then says what a rootfs must be). `work` is a path prefix for
 * temporary files; the caller removes `ext4`.
 */
export async function unpackDiskImage(
  file: string,
  work: string,
  what: string,
  progress: Progress,
): Promise<{ ext4: string; meta: DiskImageMeta; kernel: CarriedKernel | null } | null> {
  if (await isExt4(file)) return null;
  const qcow2 = await isQcow2(file);
  let raw = file;
  const rawCopy = `${work}.raw`;
  try {
    if (qcow2) {
      const virtual = await qcow2VirtualSize(file, what);
      progress({
        type: 'progress',
        phase: 'build',
        message: `converting qcow2 to raw (${virtual} bytes virtual)`,
      });
      await writeFile(rawCopy, '');
      await truncate(rawCopy, virtual);
      // The converted disk is written through a descriptor; qemu-img runs unprivileged.
      const r = await runOnUntrustedDisk(
        rawCopy,
        (dev, [src]) => ['qemu-img', 'convert', '-n', '-f', 'qcow2', '-O', 'raw', src!, dev],
        { inputs: [file], timeoutMs: 30 * 60_000 },
      );
      if (r.code !== 0)
        throw invalid(what, `qemu-img could not convert the qcow2 image (${r.stderr.trim().slice(0, 300)})`);
      raw = rawCopy;
    }
    const format = qcow2 ? 'qcow2' : 'raw';
    if (qcow2 && (await isExt4(raw))) {
      // A qcow2 of a bare filesystem: the converted file is the rootfs.
      const out = `${work}.ext4`;
      await rename(rawCopy, out);
      const { size } = await stat(out);
      return {
        ext4: out,
        meta: { format, table: 'none', partition: 0, offsetBytes: 0, sizeBytes: size },
        kernel: null,
      };
    }
    const table = await readPartitionTable(raw);
    if (!table) {
      if (qcow2)
        throw invalid(what, 'the qcow2 image holds neither an ext4 filesystem nor a partition table');
      return null;
    }
    const { root, ext4 } = await pickRoot(raw, table.partitions);
    if (!root) {
      const found = table.partitions.map((p) => `${p.index} (${p.type})`).join(', ') || 'none';
      throw invalid(
        what,
        `the disk has a ${table.table.toUpperCase()} partition table but no ext4 partition (partitions: ${found})`,
      );
    }
    progress({
      type: 'progress',
      phase: 'build',
      message: `root filesystem on partition ${root.index} (${table.table}, ${root.size} bytes at ${root.start})`,
    });
    const out = `${work}.ext4`;
    await run('dd', [
      `if=${raw}`,
      `of=${out}`,
      'bs=1M',
      'iflag=skip_bytes,count_bytes',
      `skip=${root.start}`,
      `count=${root.size}`,
      'conv=sparse',
      'status=none',
    ]);
    // A sparse tail is skipped, not written: the file still has the partition's full size.
    await truncate(out, root.size);
    const others = ext4.filter((p) => p !== root);
    const kernel = await findCarriedKernel(raw, root, others, work);
    if (kernel)
      progress({
        type: 'progress',
        phase: 'build',
        message: `kernel ${kernel.name} (${kernel.format})${kernel.initrd ? ` with ${kernel.initrd.name}` : ', no initramfs'}`,
      });
    return {
      ext4: out,
      meta: {
        format,
        table: table.table,
        partition: root.index,
        offsetBytes: root.start,
        sizeBytes: root.size,
        ...(kernel ? { kernel: kernel.name, initrd: kernel.initrd?.name ?? null } : {}),
      },
      kernel,
    };
  } finally {
    if (raw === rawCopy) await rm(rawCopy, { force: true }).catch(() => undefined);
  }
}
