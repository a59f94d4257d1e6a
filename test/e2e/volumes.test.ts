import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm, Volume } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';
import { cli } from '../helpers/proc.ts';

// Volumes on real VMs: written in one VM, moved to another, kept after the VM is deleted.
let p: Platform;
let vol: Volume;

const sh = async (vm: string, command: string) => {
  const r = await p.client.call('execVm', { params: { id: vm }, body: { command } });
  if (r.exitCode !== 0) throw new Error(`"${command}" failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout.trim();
};
const waitState = (id: string, state: 'running' | 'stopped') =>
  p.client.call('waitVm', { params: { id }, query: { state, timeout: 120 } });
// The guest finds the disk by the serial we gave it, not by a guessed /dev/vdX.
const mount = (serial: string) =>
  `for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = "${serial}" ] && dev=/dev/$(basename $d); done; ` +
  `mkdir -p /mnt/data && mount "$dev" /mnt/data && echo "$dev"`;

beforeAll(async () => {
  p = await startPlatform();
}, 120_000);
afterAll(async () => {
  await p?.dispose();
});

describe('volumes (real VMs)', () => {
  let a: Vm;
  let b: Vm;

  it('creates an ext4 volume, attaches it to a stopped VM, and the guest writes to it', async () => {
    vol = await p.client.call('createVolume', { body: { name: 'data1', size: '64mb' } });
    expect(vol).toMatchObject({ name: 'data1', sizeMib: 64, format: 'ext4', attachedTo: null });
    a = await p.client.call('createVm', { body: { name: 'vol-a', start: false } });
    await p.client.call('attachVolume', { params: { id: 'data1' }, body: { vm: a.id } });
    await p.client.call('startVm', { params: { id: a.id } });
    await waitState(a.id, 'running');
    expect(await sh(a.id, mount(vol.serial))).toMatch(/^\/dev\/vd[b-z]$/);
    await sh(a.id, 'echo "written by vol-a" > /mnt/data/hello && sync && umount /mnt/data');
  });

  it('refuses changes while the VM runs, and deleting an attached volume', async () => {
    await expectCode(
      () => p.client.call('detachVolume', { params: { id: 'data1' } }),
      'VOLUME_NEEDS_STOPPED_VM',
    );
    await expectCode(() => p.client.call('deleteVolume', { params: { id: 'data1' } }), 'VOLUME_IN_USE');
  });

  it('moves to another VM with its data, and outlives the first VM', async () => {
    await p.client.call('stopVm', { params: { id: a.id }, body: {} });
    await waitState(a.id, 'stopped');
    await p.client.call('detachVolume', { params: { id: 'data1' } });
    b = await p.client.call('createVm', { body: { name: 'vol-b', start: false } });
    await expectCode(
      () => p.client.call('attachVolume', { params: { id: 'nope' }, body: { vm: b.id } }),
      'VOLUME_NOT_FOUND',
    );
    await p.client.call('attachVolume', { params: { id: 'data1' }, body: { vm: b.id } });
    await expectCode(
      () => p.client.call('attachVolume', { params: { id: 'data1' }, body: { vm: a.id } }),
      'VOLUME_IN_USE',
    );
    await p.client.call('deleteVm', { params: { id: a.id } });
    await p.client.call('startVm', { params: { id: b.id } });
    await waitState(b.id, 'running');
    await sh(b.id, mount(vol.serial));
    expect(await sh(b.id, 'cat /mnt/data/hello')).toBe('written by vol-a');
    await sh(b.id, 'umount /mnt/data');
  });

  it('grows a volume and its filesystem', async () => {
    await expectCode(
      () => p.client.call('resizeVolume', { params: { id: 'data1' }, body: { size: '128mb' } }),
      'VOLUME_NEEDS_STOPPED_VM',
    );
    await p.client.call('stopVm', { params: { id: b.id }, body: {} });
    await waitState(b.id, 'stopped');
    await expectCode(
      () => p.client.call('resizeVolume', { params: { id: 'data1' }, body: { size: '32mb' } }),
      'VALIDATION_FAILED',
    );
    const grown = await p.client.call('resizeVolume', { params: { id: 'data1' }, body: { size: '128mb' } });
    expect(grown.sizeMib).toBe(128);
    await p.client.call('startVm', { params: { id: b.id } });
    await waitState(b.id, 'running');
    await sh(b.id, mount(vol.serial));
    const kib = Number(await sh(b.id, "df -k /mnt/data | tail -1 | awk '{print $2}'"));
    expect(kib).toBeGreaterThan(100 * 1024);
    expect(await sh(b.id, 'cat /mnt/data/hello')).toBe('written by vol-a');
  });

  it('works from the CLI, and deletion removes the file', async () => {
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const made = await cli(['volume', 'create', 'scratch', '--size', '16mb', '--format', 'raw'], env);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/created: volume scratch \(vol_\w+\): 16MiB raw, detached/);
    const ls = await cli(['volume', 'ls'], env);
    expect(ls.stdout).toMatch(/data1\s+vol_\w+\s+128MiB\s+ext4\s+host_\w+\s+vm_\w+/);
    const id = JSON.parse((await cli(['--json', 'volume', 'rm', 'scratch'], env)).stdout).id as string;
    expect(existsSync(join(p.dir, 'agent', 'volumes', `${id}.img`))).toBe(false);
    expect(existsSync(join(p.dir, 'agent', 'volumes', `${vol.id}.img`))).toBe(true);
  });
});
