import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import { tapName } from '@hearth/agent';
import { RUN_DIR_FILES } from '@hearth/vmm';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { linkExists } from '../helpers/vm.ts';

async function addImage(
  p: Platform,
  name: string,
  kind: 'kernel' | 'rootfs',
  path: string,
  meta: Record<string, unknown>,
) {
  await p.manager.stores.images.upsertByName({
    name,
    kind,
    format: kind === 'kernel' ? 'bzImage' : 'ext4',
    arch: 'x86_64',
    sizeBytes: 4096,
    // Agents verify image digests before use, so the record must carry the real one.
    sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
    source: 'test',
    path,
    builtin: false,
    meta,
  });
}

async function expectFailedAndClean(p: Platform, name: string, body: Record<string, unknown>) {
  const vm = await p.client.call('createVm', { body: { name, ...body } });
  const err = (await p.client
    .call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 120 } })
    .catch((e) => e)) as HearthError;
  expect(err).toBeInstanceOf(HearthError);
  expect(err.code).toBe('VM_FAILED');
  const failed = await p.client.call('getVm', { params: { id: vm.id } });
  expect(failed.state).toBe('failed');
  expect(failed.pid).toBeNull();
  const runDir = join(p.dir, 'agent', 'vms', vm.id);
  expect(existsSync(join(runDir, RUN_DIR_FILES.disk))).toBe(false);
  expect(linkExists(tapName(vm.id))).toBe(false);
  expect(
    spawnSync('pgrep', ['-f', `hearth-${vm.id}`])
      .stdout.toString()
      .trim(),
  ).toBe('');
  return failed;
}

describe('VMs that cannot boot', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform();
  });
  afterAll(async () => {
    await p?.dispose();
  });

  it('a rootfs without an init: failed with the console tail, TAP, disk and process cleaned up', async () => {
    const img = join(p.dir, 'empty.ext4');
    execFileSync('mke2fs', ['-q', '-t', 'ext4', img, '16M']);
    await addImage(p, 'no-init', 'rootfs', img, { bootMarker: 'hearth-guest: booted' });
    const failed = await expectFailedAndClean(p, 'noinit', { image: 'no-init' });
    expect(failed.stateReason).toContain('console (last lines)');
    expect(failed.stateReason).toMatch(/(no \/sbin\/init|No working init found)/);
  });

  it('a kernel that is not a kernel: failed with the VMM error', async () => {
    const bogus = join(p.dir, 'bogus-kernel');
    await writeFile(bogus, Buffer.alloc(8192, 7));
    const kernel = await p.manager.stores.images.require('kernel-default', 'default');
    await addImage(p, 'bogus', 'kernel', bogus, { ...kernel.meta });
    const failed = await expectFailedAndClean(p, 'bogus', { kernel: 'bogus' });
    expect(failed.stateReason).toMatch(
      /^Launching QEMU failed: .* is neither an ELF vmlinux nor a bzImage kernel/,
    );
  });

  it('a failed VM can be deleted, leaving nothing behind', async () => {
    const vm = await p.client.call('getVm', { params: { id: 'bogus' } });
    await p.client.call('deleteVm', { params: { id: vm.id } });
    const err = (await p.client
      .call('waitVm', { params: { id: vm.id }, query: { state: 'stopped', timeout: 30 } })
      .catch((e) => e)) as HearthError;
    expect(err.code).toBe('VM_NOT_FOUND');
    expect(existsSync(join(p.dir, 'agent', 'vms', vm.id))).toBe(false);
  });
});
