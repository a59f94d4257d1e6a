import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FirecrackerApi } from '../src/api-client.ts';
import { FirecrackerApiChecker } from './api-checker.ts';
import { writeStandinBinary } from './standin.ts';

// The checker must refuse what real Firecracker refuses, or the driver tests prove nothing.
describe('Firecracker contract checker', () => {
  let dir: string;
  let checker: FirecrackerApiChecker;
  let api: FirecrackerApi;
  const fault = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: Error) => e.message,
    );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-fcc-'));
    await writeFile(join(dir, 'vmlinux'), 'k');
    await writeFile(join(dir, 'disk'), 'd');
    await writeFile(join(dir, 'log'), '');
    checker = await FirecrackerApiChecker.start({ socketPath: join(dir, 'api.sock'), cwd: dir });
    api = new FirecrackerApi(join(dir, 'api.sock'), 2000);
  });
  afterEach(async () => {
    await checker.close();
    await rm(dir, { recursive: true, force: true });
  });

  const boot = async () => {
    await api.put('/boot-source', { kernel_image_path: 'vmlinux' });
    await api.put('/drives/root', {
      drive_id: 'root',
      path_on_host: 'disk',
      is_root_device: true,
      is_read_only: false,
    });
    await api.put('/actions', { action_type: 'InstanceStart' });
  };

  it('accepts a valid boot and answers GET / per the spec', async () => {
    await boot();
    expect(await api.get('/')).toEqual({
      app_name: 'Firecracker',
      id: 'anonymous-instance',
      state: 'Running',
      vmm_version: '1.13.2',
    });
    expect(checker.rejected).toEqual([]);
  });

  it.each([
    [
      'an unknown field',
      '/machine-config',
      { vcpu_count: 1, mem_size_mib: 128, color: 'red' },
      /unknown field `color`/,
    ],
    ['a missing required field', '/machine-config', { vcpu_count: 1 }, /missing field `mem_size_mib`/],
    ['a wrong type', '/machine-config', { vcpu_count: '1', mem_size_mib: 128 }, /expected an integer/],
    ['a value above the maximum', '/machine-config', { vcpu_count: 33, mem_size_mib: 128 }, /33 is above 32/],
    ['a bad enum', '/logger', { level: 'Loud', log_path: 'log' }, /unknown variant "Loud"/],
    [
      'a nested unknown field',
      '/snapshot/load',
      { snapshot_path: 's', mem_backend: { backend_type: 'File', backend_path: 'm', x: 1 } },
      /body.mem_backend: unknown field `x`/,
    ],
    [
      'a bad id',
      '/drives/root-fs',
      { drive_id: 'root-fs', path_on_host: 'disk', is_root_device: true },
      /Invalid ID: root-fs/,
    ],
    [
      'a path/body id mismatch',
      '/drives/a',
      { drive_id: 'b', path_on_host: 'disk', is_root_device: true },
      /does not match the id from the body/,
    ],
    ['a vsock CID below 3', '/vsock', { guest_cid: 2, uds_path: 'v.sock' }, /guest_cid: 2 is below 3/],
    ['an unknown path', '/nope', {}, /Invalid request method and\/or path: PUT \/nope/],
    [
      'a missing kernel file',
      '/boot-source',
      { kernel_image_path: 'missing' },
      /kernel file cannot be opened/,
    ],
    [
      'MMDS config naming no known interface',
      '/mmds/config',
      { network_interfaces: ['eth0'] },
      /does not correspond to any existing network interface/,
    ],
  ])('refuses %s', async (_what, path, body, re) => {
    expect(await fault(api.put(path, body))).toMatch(re);
    expect(checker.rejected).toHaveLength(1);
  });

  it('refuses post-boot calls before boot and pre-boot calls after', async () => {
    expect(await fault(api.patch('/vm', { state: 'Paused' }))).toMatch(/not supported before starting/);
    expect(await fault(api.put('/actions', { action_type: 'SendCtrlAltDel' }))).toMatch(/before starting/);
    expect(await fault(api.put('/actions', { action_type: 'InstanceStart' }))).toMatch(/without kernel/);
    await boot();
    expect(await fault(api.put('/machine-config', { vcpu_count: 2, mem_size_mib: 256 }))).toMatch(
      /after starting/,
    );
    expect(await fault(api.put('/actions', { action_type: 'InstanceStart' }))).toMatch(/after starting/);
  });

  it('sets logger and metrics once, and only to files that exist', async () => {
    expect(await fault(api.put('/metrics', { metrics_path: 'nope.fifo' }))).toMatch(/No such file/);
    await api.put('/logger', { log_path: 'log' });
    expect(await fault(api.put('/logger', { log_path: 'log' }))).toMatch(/Reinitialization of logger/);
  });

  it('refuses a vsock whose socket path exists', async () => {
    await writeFile(join(dir, 'v.sock'), '');
    expect(await fault(api.put('/vsock', { guest_cid: 3, uds_path: 'v.sock' }))).toMatch(/Address in use/);
  });

  it('creates snapshots only when paused', async () => {
    await boot();
    const body = { snapshot_path: 'state', mem_file_path: 'mem' };
    expect(await fault(api.put('/snapshot/create', body))).toMatch(/not paused/);
    await api.patch('/vm', { state: 'Paused' });
    expect(await fault(api.put('/snapshot/create', { ...body, snapshot_type: 'Diff' }))).toMatch(
      /dirty page tracking disabled/,
    );
    await api.put('/snapshot/create', body);
  });

  it('loads snapshots only on a fresh process, before other configuration', async () => {
    await boot();
    await api.patch('/vm', { state: 'Paused' });
    await api.put('/snapshot/create', { snapshot_path: 'state', mem_file_path: 'mem' });
    await checker.close();
    checker = await FirecrackerApiChecker.start({ socketPath: join(dir, 'api.sock'), cwd: dir });
    await api.put('/machine-config', { vcpu_count: 1, mem_size_mib: 128 });
    const load = {
      snapshot_path: 'state',
      mem_backend: { backend_type: 'File', backend_path: 'mem' },
      resume_vm: true,
    };
    expect(await fault(api.put('/snapshot/load', load))).toMatch(/not allowed after configuring/);
    await checker.close();
    checker = await FirecrackerApiChecker.start({ socketPath: join(dir, 'api.sock'), cwd: dir });
    await api.put('/logger', { log_path: 'log' });
    await api.put('/snapshot/load', load);
    expect((await api.get<{ state: string }>('/')).state).toBe('Running');
  });

  it('answers MMDS data over the limit with 413', async () => {
    expect(await fault(api.put('/mmds', { big: 'x'.repeat(60_000) }))).toMatch(
      /\(413\): The MMDS data store is too large/,
    );
  });
});

describe('Firecracker stand-in binary', () => {
  it('prints its version, and exits non-zero when the API socket path exists', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-fcs-'));
    try {
      const bin = await writeStandinBinary(dir);
      const run = promisify(execFile);
      expect((await run(bin, ['--version'])).stdout).toMatch(/^Firecracker v1\.13\.2/);
      await writeFile(join(dir, 'api.sock'), '');
      const err = await run(bin, ['--api-sock', join(dir, 'api.sock')]).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(err).toMatchObject({ code: 1, stderr: expect.stringMatching(/Failed to open the API socket/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
