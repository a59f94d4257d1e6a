import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { shimTool } from '../../../test/helpers/tool-shim.ts';
import { prepareDisk } from './disk.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-disk-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('grows the filesystem of an imported image with resize2fs as nobody, on a descriptor', async () => {
  const image = join(work, 'image.ext4');
  writeFileSync(image, '');
  truncateSync(image, 32 * 2 ** 20);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', image]);
  const disk = join(work, 'disk.raw');
  const resize2fs = shimTool('resize2fs');
  try {
    await prepareDisk(image, disk, 64 * 2 ** 20);
    const calls = resize2fs.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ uid: 65534, groups: '65534', noNewPrivs: true });
    expect(calls[0]!.args.at(-1)).toBe('/dev/fd/3');
  } finally {
    resize2fs.dispose();
  }
  const info = execFileSync('dumpe2fs', ['-h', disk], { encoding: 'utf8', stdio: 'pipe' });
  const blocks = Number(/Block count:\s+(\d+)/.exec(info)![1]);
  const size = Number(/Block size:\s+(\d+)/.exec(info)![1]);
  expect(blocks * size).toBe(64 * 2 ** 20);
  expect(statSync(disk).uid).toBe(0);
});
