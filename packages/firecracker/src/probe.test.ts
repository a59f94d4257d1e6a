import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import type { HostCheck } from '@hearth/vmm';
import { probeFirecracker } from './probe.ts';
import { testEnv } from './test-env.ts';

const kvm = (flags: boolean) => async () => ({
  devKvm: { name: 'kvm-device', ok: true, detail: '/dev/kvm is readable and writable' } as HostCheck,
  cpuFlags: flags
    ? { name: 'cpu-virtualization', ok: true, detail: 'the CPU shows vmx' }
    : { name: 'cpu-virtualization', ok: false, detail: 'the CPU shows neither vmx nor svm' },
});

describe('probeFirecracker', () => {
  let dir: string;
  let fc: string;
  let jailer: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-fc-probe-'));
    fc = join(dir, 'firecracker');
    jailer = join(dir, 'jailer');
    await writeFile(fc, '#!/bin/sh\necho "Firecracker v1.13.1"\n');
    await writeFile(jailer, '#!/bin/sh\nexit 0\n');
    await Promise.all([chmod(fc, 0o755), chmod(jailer, 0o755)]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const check = (checks: HostCheck[], name: string) => checks.find((c) => c.name === name)!;

  it('is usable with the binary, KVM, vmx/svm and the jailer', async () => {
    const p = await probeFirecracker({ binary: fc, jailer, kvm: kvm(true) });
    expect(p.availability).toMatchObject({ available: true, accel: 'kvm', version: '1.13.1' });
    expect(p.jailer).toBe(jailer);
  });

  it('refuses to run unjailed when the jailer is missing and nobody opted out', async () => {
    const p = await probeFirecracker({ binary: fc, jailer: join(dir, 'no-jailer'), kvm: kvm(true) });
    expect(p.availability.available).toBe(false);
    expect(check(p.checks, 'firecracker-jailer')).toMatchObject({ ok: false });
    expect(p.availability.reason).toMatch(/never runs unjailed.*HEARTH_FIRECRACKER_NO_JAILER=1/);
  });

  it('runs unjailed only when the operator opted out, and says so as an override', async () => {
    const p = await probeFirecracker({ binary: fc, jailer: null, kvm: kvm(true) });
    expect(p.availability.available).toBe(true);
    expect(check(p.checks, 'firecracker-jailer').detail).toMatch(/^override: HEARTH_FIRECRACKER_NO_JAILER=1/);
  });

  it('does not trust a KVM without vmx/svm unless told to, then shows the override', async () => {
    const plain = await probeFirecracker({ binary: fc, jailer, kvm: kvm(false) });
    expect(plain.availability.available).toBe(false);
    expect(check(plain.checks, 'firecracker-cpu')).toMatchObject({ ok: false });
    const trusted = await probeFirecracker({ binary: fc, jailer, kvm: kvm(false), trustKvm: true });
    expect(trusted.availability).toMatchObject({ available: true, accel: 'kvm' });
    expect(check(trusted.checks, 'firecracker-cpu')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(
        /^override: HEARTH_FIRECRACKER_TRUST_KVM=1 \(the CPU shows neither vmx nor svm/,
      ),
    });
  });
});

describe('FirecrackerDriver without its jailer', () => {
  it('refuses to launch unjailed with VMM_UNAVAILABLE naming the jailer, unless opted out', async () => {
    const env = await testEnv();
    try {
      const driver = env.driver({ jailer: join(env.dir, 'missing-jailer') });
      const err = await driver.launch(await env.spec('nojail')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HearthError);
      expect(err).toMatchObject({ code: 'VMM_UNAVAILABLE' });
      expect((err as Error).message).toMatch(/missing-jailer not found: Firecracker never runs unjailed/);
      process.env.HEARTH_FIRECRACKER_NO_JAILER = '1';
      const optedOut = await env.driver({ jailer: join(env.dir, 'missing-jailer') }).checks();
      expect(optedOut.find((c) => c.name === 'firecracker-jailer')).toMatchObject({ ok: true });
    } finally {
      delete process.env.HEARTH_FIRECRACKER_NO_JAILER;
      await rm(env.dir, { recursive: true, force: true });
    }
  });
});
