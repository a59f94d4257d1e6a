import { chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentVmSpec } from '@hearth/contract';
import { VmConfiner } from './confine.ts';

const spec = (id: string) => ({ id, vmm: 'qemu', vcpus: 2, memoryMib: 256 }) as AgentVmSpec;

// A temp directory stands in for the agent's vms/ and for /sys/fs/cgroup (v2 with cpu and memory).
describe('VmConfiner', () => {
  let dir: string;
  let vms: string;
  let confiner: VmConfiner;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-confine-'));
    vms = join(dir, 'vms');
    const cg = join(dir, 'cgroup');
    await mkdir(cg, { recursive: true });
    await writeFile(join(cg, 'cgroup.controllers'), 'cpu memory\n');
    for (const id of ['vm_a', 'vm_b', 'vm_c']) await mkdir(join(vms, id), { recursive: true });
    confiner = new VmConfiner(vms, pino({ level: 'silent' }), {
      uidRange: [800_000, 800_002],
      cgroupRoot: cg,
    });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("gives each VM its own uid, kept as its run directory's group, and reuses it", async () => {
    await chown(join(vms, 'vm_b'), 0, 800_000);
    const a = await confiner.uidFor(spec('vm_a'));
    expect(a).toBe(800_001);
    expect((await stat(join(vms, 'vm_a'))).gid).toBe(800_001);
    expect(await confiner.uidFor(spec('vm_a'))).toBe(800_001);
    expect(await confiner.uidFor(spec('vm_b'))).toBe(800_000);
    // Concurrent allocations never hand out the same uid.
    const [c, d] = await Promise.all([confiner.uidFor(spec('vm_c')), confiner.uidFor(spec('vm_c'))]);
    expect([c, d]).toEqual([800_002, 800_002]);
    await mkdir(join(vms, 'vm_d'));
    await expect(confiner.uidFor(spec('vm_d'))).rejects.toThrow(/every uid in 800000-800002 belongs to a VM/);
  });

  it('makes a cgroup sized from the VM, and removes it', async () => {
    const c = await confiner.confinement(spec('vm_a'));
    expect(c.uid).toBe(c.gid);
    expect(c.cgroupProcs).toEqual([join(dir, 'cgroup', 'hearth.slice', 'vm-vm_a', 'cgroup.procs')]);
    expect((await confiner.check()).ok).toBe(true);
  });
});
