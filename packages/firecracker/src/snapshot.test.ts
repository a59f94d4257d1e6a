import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirecrackerInstance } from './instance.ts';
import { snapshotIncompatibility } from './snapshot.ts';
import { testEnv, type TestEnv } from './test-env.ts';

describe('snapshot compatibility', () => {
  it('accepts the same snapshot format and refuses another, saying why', () => {
    expect(snapshotIncompatibility('1.13.2', '1.14.0')).toBeNull();
    expect(snapshotIncompatibility('1.12.1', '1.12.3')).toBeNull();
    expect(snapshotIncompatibility('1.12.1', '1.13.2')).toMatch(
      /taken by Firecracker 1.12.1 .* runs Firecracker 1.13.2/,
    );
    expect(snapshotIncompatibility(null, '1.13.2')).toMatch(/does not record/);
  });
});

describe('Firecracker snapshots against the contract checker', () => {
  let env: TestEnv;
  let source: FirecrackerInstance;
  beforeAll(async () => {
    env = await testEnv();
    await env.standin();
    source = (await env.driver().launch(await env.spec('src'))) as FirecrackerInstance;
    env.track(source.pid);
  });
  afterAll(async () => {
    await source?.kill();
    await env?.dispose();
  });

  it('pauses, creates a full snapshot, copies the disk while paused, records the version, resumes', async () => {
    await env.standin();
    const dir = join(env.dir, 'snap1');
    const info = await source.snapshot(dir);
    expect(info).toMatchObject({ vmm: 'firecracker', vmmVersion: '1.13.2', type: 'full', vmId: 'vm_src' });
    const seq = (await env.calls()).map((c) => `${c.method} ${c.path} ${JSON.stringify(c.body ?? '')}`);
    expect(seq[0]).toBe('GET / ""');
    expect(seq[1]).toBe('PATCH /vm {"state":"Paused"}');
    expect(seq[2]).toMatch(/^PUT \/snapshot\/create \{"snapshot_type":"Full"/);
    expect(seq[3]).toBe('PATCH /vm {"state":"Resumed"}');
    expect(await readFile(join(dir, 'disk.raw'), 'utf8')).toBe('disk of src');
    expect(JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')).firecracker).toMatchObject({
      drivePath: 'disk.raw',
      vsockPath: 'guest.sock',
      hasNic: true,
      snapshotFormat: 8,
    });
    expect(await source.status()).toBe('running');
  });

  it('keeps a paused VM paused, and refuses a diff snapshot without dirty-page tracking', async () => {
    await source.pause();
    await source.snapshot(join(env.dir, 'snap2'));
    expect(await source.status()).toBe('paused');
    await source.resume();
    await expect(source.snapshot(join(env.dir, 'snap3'), { type: 'diff' })).rejects.toThrow(
      /dirty-page tracking/,
    );
  });

  it('restores into a fresh process: logger, metrics, load with network_overrides, MMDS put again', async () => {
    await env.standin();
    const spec = await env.spec('clone', { tap: { name: 'htapclone', mac: '02:00:00:00:00:09' } });
    await writeFile(spec.diskPath, 'stale disk');
    const inst = (await env.driver().restore(spec, join(env.dir, 'snap1'))) as FirecrackerInstance;
    env.track(inst.pid);
    const calls = await env.calls();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'PUT /logger',
      'PUT /metrics',
      'PUT /snapshot/load',
      'PUT /mmds',
    ]);
    expect(calls[2]!.body).toEqual({
      snapshot_path: 'restore.vmstate',
      mem_backend: { backend_type: 'File', backend_path: 'restore.mem' },
      track_dirty_pages: false,
      resume_vm: true,
      network_overrides: [{ iface_id: 'eth0', host_dev_name: 'htapclone' }],
    });
    expect(calls[3]!.body).toEqual({ hearth: { vmId: 'vm_clone' } });
    expect(calls.every((c) => c.status === 204)).toBe(true);
    expect(await readFile(spec.diskPath, 'utf8')).toBe('disk of src');
    expect(await inst.status()).toBe('running');
    // The clone's vsock is its own (relative path, its own run directory).
    const sock = await inst.connectGuest();
    sock.destroy();
    await inst.kill();
  });

  it('refuses a snapshot taken by an incompatible Firecracker with a clear error', async () => {
    const meta = join(env.dir, 'snap2', 'snapshot.json');
    const info = JSON.parse(await readFile(meta, 'utf8'));
    await writeFile(meta, JSON.stringify({ ...info, vmmVersion: '1.10.1' }));
    const err = await env
      .driver()
      .restore(await env.spec('old'), join(env.dir, 'snap2'))
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^Restoring the snapshot failed: it was taken by Firecracker 1.10.1 and this host runs Firecracker 1.13.2/,
    );
  });

  it('a failed load reaches the caller with the fault message, and the process is gone', async () => {
    await env.standin({ FC_CHECKER_FAIL: 'PUT /snapshot/load' });
    const err = await env
      .driver()
      .restore(await env.spec('failload'), join(env.dir, 'snap1'))
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^Launching Firecracker failed: Firecracker rejected PUT \/snapshot\/load \(400\): Injected by the contract checker/,
    );
  });

  it('refuses to snapshot a VM whose Firecracker version is unknown: such a snapshot would load nowhere', async () => {
    // The stand-in answers `--version` with no version the driver can read.
    await env.standin({ FC_CHECKER_VERSION: 'custom-build' });
    const inst = (await env.driver().launch(await env.spec('nover'))) as FirecrackerInstance;
    env.track(inst.pid);
    try {
      const dir = join(env.dir, 'snap-nover');
      await expect(inst.snapshot(dir)).rejects.toThrow(/version is unknown/);
      // Nothing was asked of Firecracker and nothing written.
      expect((await env.calls()).some((c) => c.path.startsWith('/snapshot'))).toBe(false);
      await expect(readFile(join(dir, 'snapshot.json'), 'utf8')).rejects.toThrow(/ENOENT/);
    } finally {
      await inst.kill();
    }
  });
});
