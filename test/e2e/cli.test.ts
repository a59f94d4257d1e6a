import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli, freePort } from '../helpers/proc.ts';

// The `hearth` CLI as a user runs it, against a real manager and agent; one real VM.
describe('hearth CLI', () => {
  let p: Platform;
  let env: Record<string, string>;
  const run = (...args: string[]) => cli(args, env);

  beforeAll(async () => {
    p = await startPlatform();
    env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  });
  afterAll(async () => {
    await p?.dispose();
  });

  // The auto-stop timeout is an hour here, so that no step below races it however slow the
  // machine; the stop itself is tested by moving the stop time into the past.
  it('creates a VM and returns once it is running (--json), its auto-stop time recorded', async () => {
    const r = await run('--json', 'create', '--name', 'cli1', '--memory', '128', '--timeout', '1h');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const vm = JSON.parse(r.stdout) as Vm;
    expect(vm).toMatchObject({ name: 'cli1', state: 'running', vmm: 'qemu', timeout: '1h' });
    expect(Date.parse(vm.stopAt!) - Date.parse(vm.startedAt!)).toBe(3600_000);
  });

  it('lists it as a table and as JSON', async () => {
    const table = await run('ls');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+ID\s+STATE\s+VCPUS\s+MEMORY\s+HOST\s+VMM\s+IP\s+UPTIME/);
    expect(table.stdout).toMatch(
      // Uptime as `5s`, `1m5s`, `1h2m`: how long it has run depends on the machine's speed.
      /cli1\s+vm_\w+\s+running\s+1\s+128MiB\s+test-\w+\s+qemu\/(tcg|kvm)\s+10\.\d+\.\d+\.\d+\s+\d+[smhd](\d+[smh])?\s/,
    );
    const json = JSON.parse((await run('ls', '--json')).stdout) as Vm[];
    expect(json.map((v) => v.name)).toEqual(['cli1']);
  });

  it('shows the serial console', async () => {
    const r = await run('logs', 'cli1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hearth-guest: booted');
  });

  it('pauses, refuses a second pause with exit 1 and the hint, resumes', async () => {
    expect((await run('pause', 'cli1')).stdout).toContain('is paused');
    const again = await run('pause', 'cli1');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('code: VM_INVALID_STATE');
    expect(again.stderr).toContain('hint:');
    expect((await run('resume', 'cli1')).stdout).toContain('is running');
  });

  it('stops the VM by itself when its timeout passes', async () => {
    // A timeout shorter than the VM has run: its stop time, counted from the start, is past.
    const patched = await p.client.call('patchVm', { params: { id: 'cli1' }, body: { timeout: '1s' } });
    expect(patched.timeout).toBe('1s');
    expect(Date.parse(patched.stopAt!) - Date.parse(patched.startedAt!)).toBe(1000);
    const vm = await p.client.call('waitVm', {
      params: { id: 'cli1' },
      query: { state: 'stopped', timeout: 300 },
    });
    expect(vm.state).toBe('stopped');
    const events = await p.client.call('vmEvents', { params: { id: 'cli1' }, query: { limit: 100 } });
    expect(events.items.some((e) => e.to === 'stopping' && e.actor === 'timeout')).toBe(true);
  });

  it('uses documented exit codes for errors', async () => {
    const missing = await run('get', 'ghost');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('VM_NOT_FOUND');
    const noNet = await run('create', '--network', 'lan');
    expect(noNet.code).toBe(1);
    expect(noNet.stderr).toContain('NETWORK_NOT_FOUND');
    const badEgress = await run('create', '--egress', 'sometimes');
    expect(badEgress.code).toBe(2);
    expect(badEgress.stderr).toContain('allow or deny');
    const badPublish = await run('create', '--publish', '80');
    expect(badPublish.code).toBe(2);
    expect(badPublish.stderr).toContain('HOSTPORT:GUESTPORT');
    const badFlag = await run('create', '--bogus');
    expect(badFlag.code).toBe(2);
    const port = await freePort();
    const down = await cli(['ls'], { HEARTH_URL: `http://127.0.0.1:${port}`, HEARTH_TOKEN: 'x' });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('hearth up');
    const jsonErr = await run('--json', 'get', 'ghost');
    expect(JSON.parse(jsonErr.stderr).error.code).toBe('VM_NOT_FOUND');
  });

  it('doctor reports every check and the VMMs', async () => {
    const r = await cli(['--json', '--data-dir', p.dir, 'doctor'], env);
    const out = JSON.parse(r.stdout) as {
      checks: { name: string; ok: boolean }[];
      inventory: { vmms: { kind: string; available: boolean }[] };
    };
    expect(out.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['kvm', 'qemu', 'firecracker', 'tun', 'nftables', 'disk', 'manager']),
    );
    expect(out.inventory.vmms.find((v) => v.kind === 'qemu')?.available).toBe(true);
    expect(out.checks.find((c) => c.name === 'manager')?.ok).toBe(true);
  });

  it('lists hosts and images', async () => {
    const hosts = await run('host', 'ls');
    expect(hosts.code).toBe(0);
    expect(hosts.stdout).toMatch(/test-\w+\s+host_\w+\s+ready\s+\d+/);
    expect(hosts.stdout).toContain('qemu/');
    const images = JSON.parse((await run('--json', 'image', 'ls')).stdout) as { name: string }[];
    expect(images.map((i) => i.name)).toContain('kernel-default');
    expect((await run('image', 'ls')).stdout).toMatch(/base\s+img_\w+\s+rootfs\s+ext4/);
  });

  describe('getting into a VM', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHearthTestKeyOnlyForTheSuite0000000000000 test@hearth';

    it('creates a VM with a user, password and SSH key', async () => {
      const r = await run(
        '--json',
        'create',
        '--name',
        'cli2',
        '--user',
        'bob',
        '--password',
        'pw',
        '--ssh-key',
        key,
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ state: 'running', users: ['bob'] });
      const keys = await run('exec', 'cli2', '--', 'cat', '/home/bob/.ssh/authorized_keys');
      expect(keys.stdout).toContain(key);
      const shadow = await run('exec', 'cli2', '--', 'grep', '^bob:', '/etc/shadow');
      expect(shadow.stdout).toMatch(/^bob:\$6\$/);
    });

    it('exec streams output and exits with the command status', async () => {
      const r = await run('exec', 'cli2', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3');
      expect(r).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
      const piped = await cli(['exec', 'cli2', '--', 'tr', 'a-z', 'A-Z'], env, 'hello\n');
      expect(piped).toMatchObject({ code: 0, stdout: 'HELLO\n' });
      const slow = await run('exec', '--timeout', '1s', 'cli2', '--', 'sleep', '30');
      expect(slow.code).toBe(124);
      const missing = await run('exec', 'ghost', '--', 'true');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('VM_NOT_FOUND');
    });

    it('cp copies files and directories both ways, intact', async () => {
      const src = join(p.dir, 'cp-src');
      mkdirSync(join(src, 'nested'), { recursive: true });
      writeFileSync(join(src, 'one.txt'), 'one\n');
      writeFileSync(join(src, 'nested', 'two.bin'), randomBytes(200_000));
      expect((await run('cp', join(src, 'one.txt'), 'cli2:/root/one.txt')).code).toBe(0);
      expect((await run('cp', src, 'cli2:/root/tree')).code).toBe(0);
      const back = join(p.dir, 'cp-back');
      expect((await run('cp', 'cli2:/root/tree', back)).code).toBe(0);
      expect((await run('cp', 'cli2:/root/one.txt', join(p.dir, 'one-back.txt'))).code).toBe(0);
      expect(readFileSync(join(p.dir, 'one-back.txt'), 'utf8')).toBe('one\n');
      expect(
        readFileSync(join(back, 'nested', 'two.bin')).equals(readFileSync(join(src, 'nested', 'two.bin'))),
      ).toBe(true);
      const bad = await run('cp', 'a', 'b');
      expect(bad.code).toBe(2);
    });

    it('connect runs an interactive shell and exits with its status', async () => {
      const r = await cli(['connect', 'cli2'], env, 'echo hi-from-$(hostname)\nexit 4\n');
      expect(r.stdout).toContain('hi-from-cli2');
      expect(r.code).toBe(4);
    });
  });

  it('removes the VMs', async () => {
    expect((await run('rm', 'cli2')).code).toBe(0);
    const r = await run('rm', 'cli1');
    expect(r.code).toBe(0);
    expect((await p.client.call('listVms', { query: {} })).items).toHaveLength(0);
  });
});
