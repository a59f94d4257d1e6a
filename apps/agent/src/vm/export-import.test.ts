import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type Image, type Vm, type VmArchiveManifest } from '@hearth/contract';
import { ext4Of } from '../../../../test/helpers/disk.ts';
import { startPlatform, type Platform } from '../../../../test/helpers/platform.ts';
import { encodeSparse } from './sparse-codec.ts';

// Import and export through a manager and its real agent, without booting anything: an archive
// made here lands as the disk of a new (not started) VM, byte for byte and sparse; exported again
// it gives the same disk; altered archives are refused with their codes and leave nothing behind.
let p: Platform;
let image: Image;
let kernel: Image;
const MiB = 2 ** 20;
const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

/** A tar archive as GNU tar writes it (the manager's own writer is tested beside it). */
async function tar(members: [string, Buffer][]): Promise<Buffer> {
  const dir = await mkdtemp(join(p.dir, 'tar-'));
  for (const [name, b] of members) await writeFile(join(dir, name), b);
  const { stdout } = await run('tar', ['-cf', '-', '-C', dir, ...members.map(([n]) => n)], {
    encoding: 'buffer',
    maxBuffer: 2 ** 28,
  });
  return stdout;
}

let diskFile = '';
let encoded: Buffer;
const manifest = (over: Partial<VmArchiveManifest> = {}): VmArchiveManifest => ({
  format: 'hearth-vm-export',
  version: 1,
  createdAt: new Date().toISOString(),
  source: { id: 'vm_elsewhere', name: 'far', project: 'default', state: 'stopped' },
  vm: {
    name: 'far',
    vcpus: 1,
    memoryMib: 128,
    diskMib: 64,
    vmm: 'qemu',
    labels: { from: 'archive' },
    env: {},
    ports: [],
    egress: null,
    bandwidthMbit: null,
    timeout: null,
    users: [{ name: 'root', sshKeys: [] }],
  },
  image: { name: image.name, sha256: image.sha256, sizeBytes: image.sizeBytes, format: 'ext4', file: null },
  kernel: { name: kernel.name, sha256: kernel.sha256 },
  disk: { file: 'disk.hsparse', encoding: 'hearth-sparse-1', sizeBytes: 64 * MiB, hasAgent: true },
  memory: null,
  files: [{ path: 'disk.hsparse', sha256: sha(encoded), sizeBytes: encoded.length }],
  ...over,
});

const importRaw = (body: Buffer, query = 'start=false') =>
  fetch(`${p.manager.url}/v1/vms/import?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.manager.adminToken}`, 'content-type': 'application/x-tar' },
    body: new Uint8Array(body),
  });

let tries = 0;
async function importCode(body: Buffer): Promise<string> {
  // A new name each time: a clash would be refused before the archive is read to its end.
  const res = await importRaw(body, `start=false&name=refused-${++tries}`);
  expect(res.status).toBeGreaterThanOrEqual(400);
  return ((await res.json()) as { error: { code: string } }).error.code;
}

beforeAll(async () => {
  p = await startPlatform();
  const images = await p.client.all('listImages');
  image = images.find((i) => i.name === 'base')!;
  kernel = images.find((i) => i.kind === 'kernel')!;
  // A 64 MiB disk with data at three places; the rest holes.
  diskFile = join(p.dir, 'source.raw');
  const fh = await open(diskFile, 'w');
  await fh.truncate(64 * MiB);
  for (const at of [0, 17 * MiB + 5, 64 * MiB - 3])
    await fh.write(randomBytes(3000).subarray(0, 3), 0, 3, at);
  await fh.write(randomBytes(200_000), 0, 200_000, 40 * MiB);
  await fh.close();
  encoded = await collect(encodeSparse(diskFile));
}, 240_000);
afterAll(async () => {
  await p?.dispose();
});

describe('VM import and export through the manager and a real agent (nothing booted)', () => {
  let vm: Vm;
  it('imports an archive as a new VM whose disk is the archived one, sparse', async () => {
    const res = await importRaw(
      await tar([
        ['manifest.json', Buffer.from(JSON.stringify(manifest()))],
        ['disk.hsparse', encoded],
      ]),
    );
    expect(res.status).toBe(201);
    vm = (await res.json()) as Vm;
    expect(vm).toMatchObject({ name: 'far', state: 'created', labels: { from: 'archive' }, diskMib: 64 });
    const disk = join(p.dir, 'agent', 'vms', vm.id, 'disk.raw');
    expect((await readFile(disk)).equals(await readFile(diskFile))).toBe(true);
    expect((await stat(disk)).blocks * 512).toBeLessThan(4 * MiB);
    const events = await p.client.call('vmEvents', { params: { id: vm.id } });
    expect(events.items.map((e) => e.type)).toContain('imported');
  });

  it('exports it again: the same disk bytes, the manifest naming the same image and kernel', async () => {
    const res = await p.client.raw('exportVm', { params: { id: vm.id }, body: {} });
    const file = join(p.dir, 'again.tar');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    const list = await run('tar', ['-tf', file], { encoding: 'utf8' });
    expect(list.stdout.trim().split('\n')).toEqual(['manifest.json', 'disk.hsparse']);
    const member = async (name: string) =>
      (await run('tar', ['-xOf', file, name], { encoding: 'buffer', maxBuffer: 2 ** 28 })).stdout;
    const m = JSON.parse((await member('manifest.json')).toString()) as VmArchiveManifest;
    expect(m.image.sha256).toBe(image.sha256);
    expect(m.kernel.sha256).toBe(kernel.sha256);
    expect(m.files).toEqual([{ path: 'disk.hsparse', sha256: sha(encoded), sizeBytes: encoded.length }]);
    expect((await member('disk.hsparse')).equals(encoded)).toBe(true);
  });

  it('refuses altered archives with their codes, keeping no VM and no disk', async () => {
    const before = (await p.client.all('listVms')).length;
    const flipped = Buffer.from(encoded);
    flipped[20] = flipped[20]! ^ 0xff;
    const m = manifest();
    expect(
      await importCode(
        await tar([
          ['manifest.json', Buffer.from(JSON.stringify(m))],
          ['disk.hsparse', flipped],
        ]),
      ),
    ).toBe('VM_ARCHIVE_CHECKSUM_MISMATCH');
    expect(
      await importCode(
        await tar([
          ['manifest.json', Buffer.from(JSON.stringify({ ...m, version: 7 }))],
          ['disk.hsparse', encoded],
        ]),
      ),
    ).toBe('VM_ARCHIVE_VERSION_UNSUPPORTED');
    expect(await importCode(await tar([['disk.hsparse', encoded]]))).toBe('VM_ARCHIVE_INVALID');
    const unknown = manifest({ image: { ...m.image, sha256: 'e'.repeat(64) } });
    expect(
      await importCode(
        await tar([
          ['manifest.json', Buffer.from(JSON.stringify(unknown))],
          ['disk.hsparse', encoded],
        ]),
      ),
    ).toBe('VM_ARCHIVE_IMAGE_MISSING');
    // Cut short inside the disk: the agent got part of it and kept nothing.
    const whole = await tar([
      ['manifest.json', Buffer.from(JSON.stringify(m))],
      ['disk.hsparse', encoded],
    ]);
    expect(await importCode(whole.subarray(0, whole.length - 100_000))).toBe('VM_ARCHIVE_INVALID');
    expect((await p.client.all('listVms')).length).toBe(before);
    expect(await readdir(join(p.dir, 'agent', 'vms'))).toEqual([vm.id]);
  });

  it('imports the image the archive carries when the manager lacks it, and reuses it by sha256 after', async () => {
    const root = await mkdtemp(join(p.dir, 'root-'));
    await writeFile(join(root, 'hello'), 'carried image');
    const file = ext4Of(root, join(p.dir, 'carried.ext4'), 16);
    const img = await readFile(file);
    const withImage = (body: Buffer) => {
      const m = manifest({
        image: {
          name: 'carried',
          sha256: sha(img),
          sizeBytes: img.length,
          format: 'ext4',
          file: 'image.img',
        },
      });
      m.files = [{ path: 'image.img', sha256: sha(img), sizeBytes: img.length }, ...m.files];
      return tar([
        ['manifest.json', Buffer.from(JSON.stringify(m))],
        ['image.img', body],
        ['disk.hsparse', encoded],
      ]);
    };
    // Altered on the way: refused, and no image (not even a pending one) is left.
    const bad = Buffer.from(img);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(await importCode(await withImage(bad))).toBe('VM_ARCHIVE_CHECKSUM_MISMATCH');
    expect((await p.client.all('listImages')).filter((i) => i.sha256 === sha(img))).toEqual([]);

    const res = await importRaw(await withImage(img), 'start=false&name=with-image');
    expect(res.status).toBe(201);
    const made = (await res.json()) as Vm;
    const carried = (await p.client.all('listImages')).filter((i) => i.sha256 === sha(img));
    expect(carried.map((i) => [i.name, i.status])).toEqual([['carried', 'ready']]);
    expect(made.image).toBe(carried[0]!.id);
    // A second import of the same archive finds the image by its content: no copy.
    const again = await importRaw(await withImage(img), 'start=false&name=with-image-2');
    expect(again.status).toBe(201);
    expect((await p.client.all('listImages')).filter((i) => i.sha256 === sha(img))).toHaveLength(1);
  });

  it('refuses to export a VM that has no disk yet', async () => {
    const made = await p.client.call('createVm', { body: { name: 'never-started', start: false } });
    const e = await p.client.raw('exportVm', { params: { id: made.id }, body: {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HearthError);
    expect((e as HearthError).code).toBe('VM_INVALID_STATE');
  });
});
