import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDistro } from '@hearth/images';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { buildDisk } from '../helpers/disk.ts';
import { expectCode } from '../helpers/expect.ts';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const ROOT_X86_64 = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';
const sha256Of = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** Every directory and regular file under `dir` (parents first), for a debugfs copy script. */
function walk(dir: string, out: { dirs: string[]; files: string[] } = { dirs: [], files: [] }) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.dirs.push(p);
      walk(p, out);
    } else if (e.isFile()) out.files.push(p);
  }
  return out;
}

// A disk shaped like Debian's genericcloud image: a GPT qcow2 whose root (debian-12 with systemd
// and udev) carries Debian's cloud kernel in /boot, the initramfs its package made, and its
// modules. Imported, its VMs boot that kernel: the guest reports its release.
describe('a whole-disk image that carries its kernel boots it', () => {
  let p: Platform;
  let kver: string;
  let disk: string;
  let initrdFile: string;
  const work = mkdtempSync(join(tmpdir(), 'hearth-carried-kernel-'));

  beforeAll(async () => {
    const deb = await ensureDistro('debian-12');
    p = await startPlatform({ manager: { allowHostPathImport: true } });
    // The host's linux-image-cloud-amd64: the package the default images' fallback kernel is from.
    kver = String((await p.client.call('getImage', { params: { id: 'kernel-debian' } })).meta.version);
    let initrd = `/boot/initrd.img-${kver}`;
    if (!existsSync(initrd)) {
      initrd = join(work, `initrd.img-${kver}`);
      execFileSync('mkinitramfs', ['-o', initrd, kver], { stdio: 'ignore' });
    }
    initrdFile = initrd;
    const root = join(work, 'root.ext4');
    execFileSync('cp', ['--sparse=always', deb.path, root]);
    execFileSync('truncate', ['-s', String(statSync(root).size + 256 * 2 ** 20), root]);
    execFileSync('resize2fs', ['-f', root], { stdio: 'ignore' });
    const mods = `/lib/modules/${kver}`;
    const tree = walk(mods);
    const script = [
      'mkdir /boot',
      `write /boot/vmlinuz-${kver} /boot/vmlinuz-${kver}`,
      `write ${initrd} /boot/initrd.img-${kver}`,
      'mkdir /usr/lib/modules',
      `mkdir /usr/lib/modules/${kver}`,
      ...tree.dirs.map((d) => `mkdir /usr/lib/modules/${kver}/${relative(mods, d)}`),
      ...tree.files.map((f) => `write ${f} /usr/lib/modules/${kver}/${relative(mods, f)}`),
    ];
    writeFileSync(join(work, 'copy.debugfs'), script.join('\n') + '\n');
    execFileSync('debugfs', ['-w', '-f', join(work, 'copy.debugfs'), root], { stdio: 'ignore' });
    // Each step's failure is only printed: the files that matter are checked to be there.
    const check = execFileSync('debugfs', ['-R', `ls -p /usr/lib/modules/${kver}`, root], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(check).toContain('/modules.alias/');
    disk = buildDisk(
      join(work, 'debian-cloud.raw'),
      'gpt',
      [
        { type: ESP, sizeMiB: 2 },
        { type: ROOT_X86_64, ext4: root },
      ],
      true,
    );
  }, 3_000_000);
  afterAll(async () => {
    await p?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('import stores the kernel and initramfs as images; a VM boots them; one naming a kernel gets that one', async () => {
    let t0 = Date.now();
    const image = await p.client.call('importImage', { body: { ref: disk, name: 'debian-cloud' } });
    console.log(`qcow2 import with a carried kernel: ${Date.now() - t0} ms`);
    expect(image.meta).toMatchObject({
      init: 'systemd',
      disk: { format: 'qcow2', table: 'gpt', kernel: `vmlinuz-${kver}`, initrd: `initrd.img-${kver}` },
    });
    const kernel = await p.client.call('getImage', { params: { id: 'debian-cloud-kernel' } });
    const initrd = await p.client.call('getImage', { params: { id: 'debian-cloud-initrd' } });
    expect(image.meta.kernel).toBe(kernel.id);
    expect(kernel).toMatchObject({
      kind: 'kernel',
      format: 'bzImage',
      meta: { version: kver, initrd: initrd.id },
    });
    expect(initrd.kind).toBe('initrd');
    // Byte for byte the files on the disk.
    expect(kernel.sha256).toBe(sha256Of(`/boot/vmlinuz-${kver}`));
    expect(initrd.sha256).toBe(sha256Of(initrdFile));
    // The initramfs is in use while a kernel names it.
    await expectCode(() => p.client.call('deleteImage', { params: { id: initrd.id } }), 'IMAGE_IN_USE', 409);

    t0 = Date.now();
    const created = await p.client.call('createVm', {
      body: { name: 'carried', image: image.id, memoryMib: 512, diskSize: '2gb' },
    });
    expect(created.kernel).toBe(kernel.id);
    const vm = await p.client
      .call('waitVm', { params: { id: created.id }, query: { state: 'running', timeout: 300 } })
      .catch(async (e: unknown) => {
        console.log(
          JSON.stringify(await p.client.call('vmLogs', { params: { id: created.id } })).slice(-6000),
        );
        throw e;
      });
    console.log(`create -> running on the image's own kernel: ${Date.now() - t0} ms`);
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'uname -r; grep -o "root=[^ ]*" /proc/cmdline; cat /proc/1/comm', timeoutMs: 60_000 },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${kver}\nroot=/dev/vda\nsystemd\n`);
    const events = await p.client.call('vmEvents', { params: { id: vm.id } });
    expect(JSON.stringify(events)).toContain("the image's own kernel debian-cloud-kernel");

    // A VM that names a kernel boots that one (recorded; not started).
    const named = await p.client.call('createVm', {
      body: { name: 'named', image: image.id, kernel: 'kernel-default', start: false },
    });
    const ours = await p.client.call('getImage', { params: { id: 'kernel-default' } });
    expect(named.kernel).toBe(ours.id);

    // Deleting the disk image takes its carried kernel and initramfs with it once no VM boots them.
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await p.client.call('deleteVm', { params: { id: named.id } });
    await p.manager.vmService.drain();
    await p.client.call('deleteImage', { params: { id: image.id } });
    const left = (await p.client.all('listImages')).map((i) => i.name);
    expect(left).not.toContain('debian-cloud-kernel');
    expect(left).not.toContain('debian-cloud-initrd');
  }, 900_000);
});
