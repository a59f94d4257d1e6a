import { open, stat } from 'node:fs/promises';

/** One partition of a whole-disk image, numbered as the kernel numbers it (`/dev/vdaN`). */
export interface Partition {
  index: number;
  /** Byte offset and length within the disk image. */
  start: number;
  size: number;
  /** A GPT type GUID (upper case) or an MBR type byte (`0x83`). */
  type: string;
}

export interface PartitionTable {
  table: 'gpt' | 'mbr';
  partitions: Partition[];
}

/** GPT type GUIDs of Linux filesystems: generic data, and the x86-64 root of the discoverable partitions spec. */
export const GPT_LINUX_DATA = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
export const GPT_LINUX_ROOT_X86_64 = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';

// Bounds that keep a crafted table from asking for absurd reads.
const MAX_GPT_ENTRIES = 1024;
const MAX_GPT_ENTRY_SIZE = 4096;

async function readAt(path: string, pos: number, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, pos);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A GUID as written on disk (first three fields little-endian) → its text form. */
function guid(b: Buffer): string {
  const h = (x: Buffer) => x.toString('hex');
  const le = (x: Buffer) => h(Buffer.from(x).reverse());
  return [
    le(b.subarray(0, 4)),
    le(b.subarray(4, 6)),
    le(b.subarray(6, 8)),
    h(b.subarray(8, 10)),
    h(b.subarray(10, 16)),
  ]
    .join('-')
    .toUpperCase();
}

async function readGpt(path: string, fileSize: number): Promise<PartitionTable | null> {
  // 512-byte sectors almost everywhere; a 4Kn disk image has its header at 4096.
  for (const sector of [512, 4096]) {
    const hdr = await readAt(path, sector, 92);
    if (hdr.length < 92 || hdr.toString('latin1', 0, 8) !== 'EFI PART') continue;
    const entriesLba = Number(hdr.readBigUInt64LE(72));
    const count = hdr.readUInt32LE(80);
    const entrySize = hdr.readUInt32LE(84);
    if (count > MAX_GPT_ENTRIES || entrySize < 128 || entrySize > MAX_GPT_ENTRY_SIZE) return null;
    const entries = await readAt(path, entriesLba * sector, count * entrySize);
    const partitions: Partition[] = [];
    for (let i = 0; i < count && (i + 1) * entrySize <= entries.length; i++) {
      const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
      const type = guid(e.subarray(0, 16));
      if (type === '00000000-0000-0000-0000-000000000000') continue;
      const first = Number(e.readBigUInt64LE(32));
      const last = Number(e.readBigUInt64LE(40));
      if (last < first) continue;
      partitions.push({ index: i + 1, start: first * sector, size: (last - first + 1) * sector, type });
    }
    return { table: 'gpt', partitions: partitions.filter((p) => p.start + p.size <= fileSize) };
  }
  return null;
}

/**
 * The partition table of a whole-disk image (raw), or null when it has none: GPT (512-byte or 4 KiB
 * sectors), else the four primary entries of an MBR. Logical partitions inside an MBR extended
 * partition are not followed (cloud images put the root in a primary one). Partitions that
 * reach past the end of the file are left out.
 */
export async function readPartitionTable(path: string): Promise<PartitionTable | null> {
  const { size: fileSize } = await stat(path);
  const mbr = await readAt(path, 0, 512);
  if (mbr.length < 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) return readGpt(path, fileSize);
  const entries = [0, 1, 2, 3].map((i) => mbr.subarray(446 + i * 16, 446 + (i + 1) * 16));
  // A protective MBR (type 0xEE) stands in front of a GPT.
  if (entries.some((e) => e[4] === 0xee)) return readGpt(path, fileSize);
  const partitions: Partition[] = [];
  entries.forEach((e, i) => {
    const type = e[4]!;
    const lba = e.readUInt32LE(8);
    const sectors = e.readUInt32LE(12);
    // Empty slots and extended containers (0x05, 0x0f, 0x85) hold no filesystem themselves.
    if (type === 0 || type === 0x05 || type === 0x0f || type === 0x85 || sectors === 0) return;
    const p = {
      index: i + 1,
      start: lba * 512,
      size: sectors * 512,
      type: `0x${type.toString(16).padStart(2, '0')}`,
    };
    if (p.start > 0 && p.start + p.size <= fileSize) partitions.push(p);
  });
  return partitions.length ? { table: 'mbr', partitions } : null;
}

/** True when an ext2/3/4 superblock (magic 0xEF53 at byte 1080) starts `offset` bytes in. */
export async function ext4At(path: string, offset: number): Promise<boolean> {
  const b = await readAt(path, offset + 1024 + 56, 2);
  return b.length === 2 && b.readUInt16LE(0) === 0xef53;
}
