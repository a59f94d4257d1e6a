import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';

/** One partition of a test disk: an ext4 file copied in, or `sizeMiB` of nothing. */
export interface DiskPart {
  /** GPT type GUID or MBR type (`83`). */
  type: string;
  ext4?: string;
  sizeMiB?: number;
}

/**
 * A whole-disk image as cloud images ship them: a GPT or MBR table written by sfdisk, each
 * partition 1 MiB aligned, ext4 files copied into theirs with dd (sparse), optionally converted to
 * qcow2 by qemu-img. Returns the path written (`out`, or `out` + `.qcow2`).
 */
export function buildDisk(out: string, table: 'gpt' | 'dos', parts: DiskPart[], qcow2 = false): string {
  const MiB = 2 ** 20;
  let start = MiB;
  const layout = parts.map((p) => {
    const bytes = p.ext4 ? statSync(p.ext4).size : (p.sizeMiB ?? 1) * MiB;
    const size = Math.ceil(bytes / MiB) * MiB;
    const at = start;
    start += size;
    return { ...p, at, size };
  });
  // Room for GPT's backup table at the end.
  execFileSync('truncate', ['-s', String(start + MiB), out]);
  const script =
    `label: ${table}\n` +
    layout.map((p) => `start=${p.at / 512}, size=${p.size / 512}, type=${p.type}\n`).join('');
  execFileSync('sfdisk', ['--quiet', out], { input: script });
  for (const p of layout) {
    if (!p.ext4) continue;
    execFileSync('dd', [
      `if=${p.ext4}`,
      `of=${out}`,
      'bs=1M',
      `seek=${p.at / MiB}`,
      'conv=notrunc,sparse',
      'status=none',
    ]);
  }
  if (!qcow2) return out;
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', out, `${out}.qcow2`]);
  return `${out}.qcow2`;
}

/** An ext4 image of `files` (path → text), made with mke2fs -d. */
export function ext4Of(dir: string, out: string, sizeMiB: number): string {
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', dir, out, `${sizeMiB}M`]);
  return out;
}
