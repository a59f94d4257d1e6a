import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '@hearth/vmm';
import type { FirecrackerInstance } from './instance.ts';
import { testEnv, type TestEnv } from './test-env.ts';

// Every driver flow against the stand-in binary, which runs the strict contract checker.
describe('Firecracker driver against the contract checker', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    await env?.dispose();
  });

  const launch = async (name: string, opts = {}) => {
    const inst = (await env.driver(opts).launch(await env.spec(name))) as FirecrackerInstance;
    env.track(inst.pid);
    return inst;
  };

  it('boots with the documented call order, relative paths, and no call refused', async () => {
    await env.standin();
    const inst = await launch('boot');
    const calls = await env.calls();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'PUT /logger',
      'PUT /metrics',
      'PUT /machine-config',
      'PUT /boot-source',
      'PUT /drives/rootfs',
      'PUT /network-interfaces/eth0',
      'PUT /vsock',
      'PUT /mmds/config',
      'PUT /mmds',
      'PUT /balloon',
      'PUT /entropy',
      'PUT /actions',
    ]);
    expect(calls.every((c) => c.status === 204)).toBe(true);
    const body = (p: string) => calls.find((c) => c.path === p)!.body as Record<string, unknown>;
    expect(body('/boot-source').boot_args).toMatch(/console=ttyS0.*reboot=k/);
    expect(body('/drives/rootfs').path_on_host).toBe('disk.raw');
    expect(body('/vsock')).toEqual({ guest_cid: 3, uds_path: 'guest.sock' });
    expect(body('/network-interfaces/eth0').host_dev_name).toBe('htapboot');
    expect(body('/mmds')).toEqual({ hearth: { vmId: 'vm_boot' } });
    expect(await inst.status()).toBe('running');
    // The serial console went straight from the process's stdout into the log.
    expect(await readFile(join(env.dir, 'boot', 'console.log'), 'utf8')).toContain('hearth-guest: booted');
    await inst.kill();
    expect((await inst.exited).cause).toBe('killed');
  });

  it('attaches the configuration disk as a read-only drive after the root disk', async () => {
    await env.standin();
    const spec = await env.spec('cfg');
    await writeFile(join(spec.runDir, 'config.raw'), Buffer.alloc(4096));
    const inst = (await env.driver().launch({
      ...spec,
      configDiskPath: join(spec.runDir, 'config.raw'),
    })) as FirecrackerInstance;
    env.track(inst.pid);
    const calls = await env.calls();
    const drives = calls.filter((c) => c.path.startsWith('/drives/'));
    expect(drives.map((c) => c.path)).toEqual(['/drives/rootfs', '/drives/config']);
    expect(drives[1]!.body).toMatchObject({
      path_on_host: 'config.raw',
      is_read_only: true,
      is_root_device: false,
    });
    expect(calls.every((c) => c.status === 204)).toBe(true);
    await inst.kill();
  });

  it('pauses and resumes through PATCH /vm', async () => {
    await env.standin();
    const inst = await launch('pause');
    await inst.pause();
    expect(await inst.status()).toBe('paused');
    await inst.resume();
    expect(await inst.status()).toBe('running');
    const patches = (await env.calls()).filter((c) => c.method === 'PATCH');
    expect(patches.map((c) => c.body)).toEqual([{ state: 'Paused' }, { state: 'Resumed' }]);
    await inst.kill();
  });

  it('notices a guest that powered off (Firecracker keeps running) and ends the process', async () => {
    await env.standin({ FC_CHECKER_CTRLALTDEL: 'poweroff' });
    const inst = await launch('halt');
    await inst.requestShutdown();
    expect(await inst.exited).toMatchObject({ cause: 'guest-shutdown' });
    expect(pidAlive(inst.pid)).toBe(false);
    expect((await env.calls()).at(-1)?.body).toEqual({ action_type: 'SendCtrlAltDel' });
  });

  it('reports a guest reboot (process exit 0) as guest-reset', async () => {
    await env.standin({ FC_CHECKER_CTRLALTDEL: 'reset' });
    const inst = await launch('reset');
    await inst.requestShutdown();
    expect(await inst.exited).toEqual({ cause: 'guest-reset', code: 0 });
  });

  it('a guest that ignores Ctrl-Alt-Del is still running: the caller kills it after its timeout', async () => {
    await env.standin({ FC_CHECKER_CTRLALTDEL: 'ignore' });
    const inst = await launch('ignore');
    await inst.requestShutdown();
    const timedOut = await Promise.race([
      inst.exited.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), 500)),
    ]);
    expect(timedOut).toBe(true);
    await inst.kill();
    expect((await inst.exited).cause).toBe('killed');
  });

  it('connects to the guest agent over the hybrid vsock without losing bytes sent after OK', async () => {
    await env.standin();
    const inst = await launch('vsock');
    const sock = await inst.connectGuest();
    const got: string[] = [];
    sock.on('data', (d: Buffer) => got.push(d.toString()));
    sock.write('ping\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(got.join('')).toBe('guest:1024\nping\n');
    sock.destroy();
    await inst.kill();
  });

  it('reads the metrics FIFO after FlushMetrics', async () => {
    await env.standin();
    const inst = await launch('metrics');
    const m = await inst.metrics();
    expect(m).toHaveProperty('utc_timestamp_ms');
    expect((await env.calls()).at(-1)?.body).toEqual({ action_type: 'FlushMetrics' });
    await inst.kill();
  });

  it('kills a process whose API stops answering (watchdog)', async () => {
    await env.standin({ FC_CHECKER_HANG: 'after-start' });
    const spec = await env.spec('hung');
    const inst = await env
      .driver({ watchdog: { intervalMs: 100, failures: 2 }, apiTimeoutMs: 2000 })
      .launch(spec);
    env.track(inst.pid);
    expect((await inst.exited).cause).toBe('vmm-hung');
  });

  it('adopts a running VM after an agent restart and verifies the pid', async () => {
    await env.standin();
    const first = await launch('adopt');
    first.dispose();
    const adopted = await env.driver().adopt(join(env.dir, 'adopt'));
    expect(adopted?.pid).toBe(first.pid);
    expect(await adopted!.status()).toBe('running');
    // A pid file naming an unrelated process is not adopted.
    await writeFile(join(env.dir, 'adopt', 'firecracker.pid'), `${process.pid}\n`);
    expect(await env.driver().adopt(join(env.dir, 'adopt'))).toBeNull();
    await writeFile(join(env.dir, 'adopt', 'firecracker.pid'), `${first.pid}\n`);
    await adopted!.kill();
    expect(await env.driver().adopt(join(env.dir, 'adopt'))).toBeNull();
    expect(await env.driver().adopt(join(env.dir, 'nothing-here'))).toBeNull();
  });

  it('adopting a guest that powered off while the agent was down ends it as a shutdown', async () => {
    await env.standin({ FC_CHECKER_CTRLALTDEL: 'poweroff' });
    const first = await launch('adopt-halted');
    first.dispose();
    await first.requestShutdown();
    await new Promise((r) => setTimeout(r, 100));
    const adopted = await env.driver().adopt(join(env.dir, 'adopt-halted'));
    expect((await adopted!.exited).cause).toBe('guest-shutdown');
  });

  it('removes a stale API socket before starting', async () => {
    await env.standin();
    const spec = await env.spec('stale');
    await writeFile(join(spec.runDir, 'api.sock'), 'left by a dead Firecracker');
    await writeFile(spec.guestSocketPath, 'stale vsock');
    const inst = await env.driver().launch(spec);
    env.track(inst.pid);
    expect(await inst.status()).toBe('running');
    await inst.kill();
  });

  it('refuses socket paths longer than 107 bytes, counting the vsock port suffix', async () => {
    const spec = await env.spec('long');
    const guest = join(spec.runDir, 'g'.repeat(107 - spec.runDir.length - 4) + '.s');
    expect(Buffer.byteLength(guest)).toBeLessThanOrEqual(107);
    const err = await env
      .driver()
      .launch({ ...spec, guestSocketPath: guest })
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^Launching Firecracker failed: socket path .*_1024 is \d+ bytes/);
  });

  it('refuses a kernel that is not an ELF vmlinux', async () => {
    const spec = await env.spec('bzimage');
    await writeFile(join(env.dir, 'bzImage'), 'MZ not elf');
    const err = await env
      .driver()
      .launch({ ...spec, kernelPath: join(env.dir, 'bzImage') })
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(/not an uncompressed ELF vmlinux/);
  });

  it('reports the binary exiting at start with the last line of its stderr', async () => {
    const failing = join(env.dir, 'firecracker-broken');
    await writeFile(failing, '#!/bin/sh\necho "Error: cannot open /dev/kvm" >&2\nexit 1\n', { mode: 0o755 });
    const err = await env
      .driver({ binary: failing })
      .launch(await env.spec('early-exit'))
      .catch((e: Error) => e);
    expect((err as Error).message).toBe(
      'Launching Firecracker failed: firecracker-broken exited with code 1: Error: cannot open /dev/kvm',
    );
  });
});
