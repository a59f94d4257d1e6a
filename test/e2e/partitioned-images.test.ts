import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { buildDisk, ext4Of } from '../helpers/disk.ts';
import { expectCode } from '../helpers/expect.ts';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const MiB = 2 ** 20;

// Whole-disk images shaped like the cloud images people download (a partition table, the root on
// a partition, qcow2 or raw), built here from the base rootfs, imported, and booted in real VMs.
describe('partitioned disk images: import finds the root partition and boots it', () => {
  let p: Platform;
  let srv: Server;
  let url: string;
  let rootfs: string;
  const work = mkdtempSync(join(tmpdir(), 'hearth-partitioned-'));

  beforeAll(async () => {
    // The agent fetches images over HTTP as on a second host; the test's web server is on loopback.
    p = await startPlatform({
      manager: { allowHostPathImport: true, importAllow: ['127.0.0.0/8'] },
      alwaysFetchImages: true,
    });
    const base = await p.client.call('getImage', { params: { id: 'base' } });
    // The base rootfs with a file that says which disk the guest booted from.
    rootfs = join(work, 'root.ext4');
    execFileSync('cp', ['--sparse=always', base.path, rootfs]);
    writeFileSync(join(work, 'marker'), 'from a partition\n');
    execFileSync('debugfs', ['-w', '-R', `write ${join(work, 'marker')} /etc/hearth-disk`, rootfs], {
      stdio: 'ignore',
    });
    srv = createServer((req, res) =>
      createReadStream(join(work, req.url!.slice(1)))
        .on('error', () => res.writeHead(404).end())
        .pipe(res),
    );
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  }, 180_000);
  afterAll(async () => {
    srv?.close();
    await p?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  async function bootAndCheck(image: Image, name: string): Promise<void> {
    const created = await p.client.call('createVm', { body: { name, image: image.id, memoryMib: 128 } });
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 300 },
    });
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'cat /etc/hearth-disk; grep -o "root=[^ ]*" /proc/cmdline' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('from a partition\nroot=/dev/vda\n');
    await p.client.call('deleteVm', { params: { id: vm.id } });
  }

  it('a GPT qcow2 (ESP, root, a larger data partition) over HTTP: the root is found, stored as ext4, boots', async () => {
    // The data partition is the largest ext4 but holds no init or os-release: it must not be picked.
    const dataDir = join(work, 'data');
    mkdirSync(join(dataDir, 'grub'), { recursive: true });
    writeFileSync(join(dataDir, 'grub', 'grub.cfg'), 'set default=0\n');
    const data = ext4Of(dataDir, join(work, 'data.ext4'), 96);
    const disk = buildDisk(
      join(work, 'gpt.raw'),
      'gpt',
      [
        { type: ESP, sizeMiB: 2 },
        { type: LINUX, ext4: rootfs },
        { type: LINUX, ext4: data },
      ],
      true,
    );
    const t0 = Date.now();
    const image = await p.client.call('importImage', {
      body: { ref: `${url}/${disk.slice(work.length + 1)}`, name: 'gpt-qcow2', format: 'qcow2' },
    });
    console.log(`GPT qcow2 import (convert, find root, extract, hash): ${Date.now() - t0} ms`);
    expect(image).toMatchObject({ kind: 'rootfs', format: 'ext4', status: 'ready' });
    expect(image.meta).toMatchObject({
      init: 'inittab',
      disk: { format: 'qcow2', table: 'gpt', partition: 2, offsetBytes: 3 * MiB, sizeBytes: 64 * MiB },
    });
    await bootAndCheck(image, 'gpt-vm');
  }, 600_000);

  it('a raw MBR disk from a host path boots from its one Linux partition', async () => {
    const disk = buildDisk(join(work, 'mbr.raw'), 'dos', [
      { type: 'c', sizeMiB: 1 },
      { type: '83', ext4: rootfs },
    ]);
    const image = await p.client.call('importImage', { body: { ref: disk, name: 'mbr-raw' } });
    expect(image.meta).toMatchObject({
      disk: { format: 'raw', table: 'mbr', partition: 2, offsetBytes: 2 * MiB, sizeBytes: 64 * MiB },
    });
    await bootAndCheck(image, 'mbr-vm');
  }, 600_000);

  it('refuses a qcow2 with a backing file and a disk without an ext4 partition', async () => {
    // A backing file would make the converter read a host file (here /etc/passwd) into the image.
    const backed = join(work, 'backed.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', backed, '1M']);
    const e = await expectCode(
      () => p.client.call('importImage', { body: { ref: `${url}/backed.qcow2`, name: 'backed' } }),
      'IMAGE_FORMAT_INVALID',
      422,
    );
    expect(e.message).toContain('backing file');
    const espOnly = buildDisk(join(work, 'esp.raw'), 'gpt', [{ type: ESP, sizeMiB: 2 }]);
    const e2 = await expectCode(
      () => p.client.call('importImage', { body: { ref: espOnly, name: 'esp-only' } }),
      'IMAGE_FORMAT_INVALID',
      422,
    );
    expect(e2.message).toContain('no ext4 partition');
  }, 120_000);
});
