import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { cli } from '../helpers/proc.ts';

// `hearth image …` and `create --from-image` as a user runs them (`--runtime`: runtimes.test.ts).
describe('hearth image CLI and --from-image', () => {
  let p: Platform;
  let reg: LocalRegistry;
  let ref: string;
  let env: Record<string, string>;
  const work = mkdtempSync(join(tmpdir(), 'hearth-images-cli-'));
  const run = (...args: string[]) => cli(args, env);

  beforeAll(async () => {
    reg = await startRegistry();
    ref = await pushTestImage(reg.host, 'cli/hello', 'v2');
    // The local registry is on loopback: the operator's allow-list lets imports reach it.
    p = await startPlatform({ manager: { importAllow: [reg.host] } });
    env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  }, 120_000);
  afterAll(async () => {
    await p?.dispose();
    await reg?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('imports with progress, lists, and uploads a file verified by sha256', async () => {
    const imp = await run('image', 'import', ref);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).toMatch(/resolve: resolving/);
    expect(imp.stderr).toMatch(/pull: /);
    expect(imp.stderr).toMatch(/build: building ext4/);
    expect(imp.stdout).toMatch(/^oci-hello-v2 \(img_\w+\) imported in [\d.]+ s/);

    const root = join(work, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    const file = join(work, 'disk.ext4');
    execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', root, file, '8M']);
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    const up = await run('--json', 'image', 'upload', file, '--name', 'my-disk');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('upload: 8.0 MiB of 8.0 MiB (100%)');
    expect(JSON.parse(up.stdout) as Image).toMatchObject({ name: 'my-disk', sha256: sha, status: 'ready' });

    const ls = await run('image', 'ls');
    expect(ls.stdout).toMatch(/^NAME\s+ID\s+KIND\s+FORMAT\s+STATUS\s+SIZE\s+SHA256\s+VMS\s+SOURCE/);
    expect(ls.stdout).toMatch(/oci-hello-v2\s+img_\w+\s+rootfs\s+ext4\s+ready/);
    expect((await run('image', 'rm', 'my-disk')).stdout).toMatch(/my-disk \(img_\w+\) deleted/);
  });

  it('create --from-image reuses the import and boots it; delete is refused while the VM exists', async () => {
    const r = await run('create', '--name', 'from-img', '--from-image', ref, '--env', 'MODE=cli');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('already imported as oci-hello-v2');
    expect(r.stdout).toMatch(/^from-img \(vm_\w+\) is running/);
    const out = await run('exec', 'from-img', '--', 'cat', '/srv/app.env');
    expect(out.stdout).toContain('MODE=cli');
    const del = await run('image', 'delete', 'oci-hello-v2');
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('code: IMAGE_IN_USE');
    expect((await run('rm', 'from-img')).code).toBe(0);
  }, 180_000);
});
