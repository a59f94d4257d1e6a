import type { NewImage } from './images.ts';
import type { NewVm } from './vm-shapes.ts';

// Rows the store and service tests insert directly (no API, no host): one shape for all of them.

/** A rootfs image row (tests also use it as the kernel); `over` sets what a test needs. */
export function testImage(over: Partial<NewImage> = {}): NewImage {
  return {
    name: 'img',
    kind: 'rootfs',
    format: 'raw',
    arch: 'x86_64',
    sizeBytes: 1,
    sha256: 'x',
    source: 'test',
    path: '/dev/null',
    builtin: false,
    meta: {},
    ...over,
  };
}

/** A VM row on `hostId` with `imageId` as image and kernel: created, stopped, 1 vCPU, no address. */
export function testVm(id: string, imageId: string, hostId: string, over: Partial<NewVm> = {}): NewVm {
  return {
    id,
    name: id,
    project: 'default',
    state: 'created',
    desiredState: 'stopped',
    vcpus: 1,
    memoryMib: 128,
    diskMib: 1024,
    imageId,
    kernelId: imageId,
    vmm: 'qemu',
    hostId,
    ip: null,
    mac: null,
    env: {},
    labels: {},
    timeout: null,
    guest: { secret: 's', users: [] },
    snapshotId: null,
    ...over,
  };
}
