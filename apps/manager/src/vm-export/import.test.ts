import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HearthError, type VmArchiveManifest } from '@hearth/contract';
import { checked, readManifest } from './import.ts';
import type { Member } from './tar.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const disk = Buffer.from('encoded disk bytes');

const manifest = (): VmArchiveManifest => ({
  format: 'hearth-vm-export',
  version: 1,
  createdAt: new Date(0).toISOString(),
  source: { id: 'vm_1', name: 'web', project: 'default', state: 'stopped' },
  vm: {
    name: 'web',
    vcpus: 1,
    memoryMib: 256,
    diskMib: 1024,
    vmm: 'qemu',
    labels: {},
    env: {},
    ports: [],
    egress: null,
    bandwidthMbit: null,
    timeout: null,
    users: [],
  },
  image: { name: 'base', sha256: sha('img'), sizeBytes: 3, format: 'ext4', file: null },
  kernel: { name: 'kernel-default', sha256: sha('k') },
  disk: { file: 'disk.hsparse', encoding: 'hearth-sparse-1', sizeBytes: 2 ** 30, hasAgent: true },
  memory: null,
  files: [{ path: 'disk.hsparse', sha256: sha(disk), sizeBytes: disk.length }],
});

function member(path: string, body: Buffer | string): Member {
  const b = Buffer.from(body);
  return {
    path,
    size: b.length,
    body: (async function* () {
      yield b;
    })(),
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HearthError);
  return (e as HearthError).code;
}

describe('VM archive manifest', () => {
  it('reads a good manifest', async () => {
    const m = await readManifest(member('manifest.json', JSON.stringify(manifest())));
    expect(m.vm.name).toBe('web');
  });

  it('refuses what is not a VM archive, with VM_ARCHIVE_INVALID', async () => {
    expect(await code(readManifest(undefined))).toBe('VM_ARCHIVE_INVALID');
    expect(await code(readManifest(member('disk.hsparse', '{}')))).toBe('VM_ARCHIVE_INVALID');
    expect(await code(readManifest(member('manifest.json', 'not json')))).toBe('VM_ARCHIVE_INVALID');
    expect(await code(readManifest(member('manifest.json', '{"format":"hearth-backup","version":1}')))).toBe(
      'VM_ARCHIVE_INVALID',
    );
    const noDisk = { ...manifest(), files: [] };
    expect(await code(readManifest(member('manifest.json', JSON.stringify(noDisk))))).toBe(
      'VM_ARCHIVE_INVALID',
    );
  });

  it('refuses a format version it does not read, naming it; reads 1 and 2', async () => {
    const e = await readManifest(
      member('manifest.json', JSON.stringify({ ...manifest(), version: 3 })),
    ).catch((x: HearthError) => x);
    expect((e as HearthError).code).toBe('VM_ARCHIVE_VERSION_UNSUPPORTED');
    expect((e as HearthError).detail).toEqual({ version: 3, supported: [1, 2] });
    const two = await readManifest(member('manifest.json', JSON.stringify({ ...manifest(), version: 2 })));
    expect(two.version).toBe(2);
  });

  it('checks each member against its size and sha256', async () => {
    const f = manifest().files[0]!;
    const good = checked(member('disk.hsparse', disk), f);
    for await (const c of good) void c;
    expect(() => good.ok()).not.toThrow();

    const tampered = Buffer.from(disk);
    tampered[0] = tampered[0]! ^ 1;
    const bad = checked(member('disk.hsparse', tampered), f);
    for await (const c of bad) void c;
    expect(() => bad.ok()).toThrow(expect.objectContaining({ code: 'VM_ARCHIVE_CHECKSUM_MISMATCH' }));

    expect(() => checked(member('disk.hsparse', 'short'), f)).toThrow(
      expect.objectContaining({ code: 'VM_ARCHIVE_INVALID' }),
    );
  });
});
