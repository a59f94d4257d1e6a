import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDisk, ext4Of } from '../../../../test/helpers/disk.ts';
import { ext4At, GPT_LINUX_DATA, readPartitionTable } from './partitions.ts';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

// Tables written by the real sfdisk, read back by the importer's parser.
describe('readPartitionTable', () => {
  const work = mkdtempSync(join(tmpdir(), 'hearth-parts-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'os-release'), 'ID=test\n');
  const fs = ext4Of(root, join(work, 'fs.ext4'), 8);

  it('reads a GPT: numbers, offsets, sizes and type GUIDs as sfdisk wrote them', async () => {
    const disk = buildDisk(join(work, 'gpt.raw'), 'gpt', [
      { type: ESP, sizeMiB: 2 },
      { type: GPT_LINUX_DATA, ext4: fs },
    ]);
    const t = await readPartitionTable(disk);
    expect(t).toEqual({
      table: 'gpt',
      partitions: [
        { index: 1, start: 2 ** 20, size: 2 * 2 ** 20, type: ESP },
        { index: 2, start: 3 * 2 ** 20, size: 8 * 2 ** 20, type: GPT_LINUX_DATA },
      ],
    });
    expect(await ext4At(disk, t!.partitions[1]!.start)).toBe(true);
    expect(await ext4At(disk, t!.partitions[0]!.start)).toBe(false);
  });

  it('reads an MBR, skipping an extended container', async () => {
    const disk = buildDisk(join(work, 'mbr.raw'), 'dos', [
      { type: '83', ext4: fs },
      { type: '5', sizeMiB: 2 },
    ]);
    expect(await readPartitionTable(disk)).toEqual({
      table: 'mbr',
      partitions: [{ index: 1, start: 2 ** 20, size: 8 * 2 ** 20, type: '0x83' }],
    });
  });

  it('finds no table in a bare filesystem or a file of zeros', async () => {
    expect(await readPartitionTable(fs)).toBeNull();
    const zeros = join(work, 'zeros');
    writeFileSync(zeros, Buffer.alloc(64 * 1024));
    expect(await readPartitionTable(zeros)).toBeNull();
  });
});
