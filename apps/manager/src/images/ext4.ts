import { execFile } from 'node:child_process';
import { open, readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runOnUntrustedDisk } from '@hearth/images';

const run = promisify(execFile);

/** True when the file carries an ext2/3/4 superblock (magic 0xEF53 at byte 1080). */
export async function isExt4(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 1024 + 56);
    return bytesRead === 2 && buf.readUInt16LE(0) === 0xef53;
  } finally {
    await fh.close();
  }
}

export type InitKind = 'inittab' | 'systemd' | 'hearth-guest';

/**
 * How the guest agent gets started in this image: hooked into its busybox inittab or systemd, or,
 * when it has neither, booted as PID 1 itself (`init=/usr/sbin/hearth-guest`). Read with debugfs:
 * no mount. The image came from a registry or a URL, so debugfs runs unprivileged on a read-only
 * descriptor with a deadline; one run answers all three questions.
 */
export async function detectInit(ext4: string): Promise<InitKind> {
  const paths = ['/etc/inittab', '/lib/systemd/systemd', '/usr/lib/systemd/systemd'];
  const r = await runOnUntrustedDisk(ext4, (dev) => ['debugfs', '-f', '-', dev], {
    readOnly: true,
    timeoutMs: 60_000,
    stdin: paths.map((p) => `stat ${p}\n`).join(''),
  }).catch(() => ({ stdout: '' }));
  // debugfs echoes each request ("debugfs: stat /x") before its answer.
  const found = new Set<string>();
  let current = '';
  for (const line of r.stdout.split('\n')) {
    const req = /^debugfs: stat (\S+)/.exec(line);
    if (req) current = req[1]!;
    else if (current && /^Inode:/.test(line)) found.add(current);
  }
  if (found.has('/etc/inittab')) return 'inittab';
  if (found.has('/lib/systemd/systemd') || found.has('/usr/lib/systemd/systemd')) return 'systemd';
  return 'hearth-guest';
}

/** Bytes and entries under a directory (apparent sizes; hard links counted once). */
export async function treeSize(dir: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      entries++;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        bytes += 4096;
        await walk(p);
      } else if (e.isFile()) {
        const s = await lstat(p);
        const key = `${s.dev}:${s.ino}`;
        if (s.nlink > 1 && seen.has(key)) continue;
        seen.add(key);
        bytes += Math.ceil(s.size / 4096) * 4096;
      }
    }
  };
  await walk(dir);
  return { bytes, entries };
}

/**
 * Turns a directory into an ext4 image with `mke2fs -d` (no loop mount, no root needed), sized
 * for the content plus headroom; per-VM disks grow it to their own size at boot.
 */
export async function buildExt4(dir: string, out: string, label = 'hearth-root'): Promise<void> {
  const { bytes, entries } = await treeSize(dir);
  const mib = Math.max(32, Math.ceil((bytes * 1.25) / 2 ** 20) + 32);
  const inodes = Math.max(4096, Math.ceil(entries * 1.5) + 1024);
  await run(
    'mke2fs',
    [
      '-q',
      '-t',
      'ext4',
      '-L',
      label,
      '-N',
      String(inodes),
      '-d',
      dir,
      '-E',
      'root_owner=0:0',
      out,
      `${mib}M`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}
