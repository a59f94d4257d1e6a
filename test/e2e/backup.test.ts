import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// Backup → wipe → restore of a real manager (PGlite): the same VMs, images and snapshots are
// listed, the agent reconnects, and the VM boots again with its disk intact.
let p: Platform;
let vm: Vm;
let env: Record<string, string>;
let archive = '';
let before: { vms: string[]; images: string[]; snapshots: string[]; volumes: string[] };

const sh = async (id: string, command: string) => {
  const r = await p.client.call('execVm', { params: { id }, body: { command } });
  if (r.exitCode !== 0) throw new Error(`"${command}" failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout.trim();
};
const waitState = (id: string, state: 'running' | 'stopped') =>
  p.client.call('waitVm', { params: { id }, query: { state, timeout: 300 } });
const listed = async () => ({
  vms: (await p.client.all('listVms')).map((v) => `${v.id} ${v.name}`).sort(),
  images: (await p.client.all('listImages')).map((i) => `${i.id} ${i.sha256}`).sort(),
  snapshots: (await p.client.all('listSnapshots')).map((s) => `${s.id} ${s.name}`).sort(),
  volumes: (await p.client.all('listVolumes')).map((v) => `${v.id} ${v.name}`).sort(),
});

beforeAll(async () => {
  p = await startPlatform();
  env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  const made = await p.client.call('createVm', { body: { name: 'bk-vm' } });
  vm = await waitState(made.id, 'running');
  await sh(vm.id, 'echo "kept across the restore" > /root/marker && sync');
  await p.client.call('createSnapshot', { params: { id: vm.id }, body: { name: 'bk-snap' } });
  await p.client.call('createVolume', { body: { name: 'bk-vol', size: '16mb' } });
  archive = join(p.dir, 'backup.tar');
}, 300_000);
afterAll(async () => {
  await p?.dispose();
});

describe('backup and restore (real VM)', () => {
  it('writes an archive with the database, keys and a checksummed manifest', async () => {
    before = await listed();
    const r = await cli(['backup', 'create', '--out', archive], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backup written to .*backup\.tar in [\d.]+ s/);
    const manifest = JSON.parse(
      execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }),
    ) as {
      database: { kind: string; sha256: string };
      vms: number;
      images: { id: string; sha256: string; file: string | null }[];
      snapshots: { name: string }[];
      volumes: { name: string }[];
      files: { path: string; sha256: string }[];
    };
    expect(manifest.database.kind).toBe('pglite');
    expect(manifest.vms).toBe(1);
    expect(manifest.snapshots.map((s) => s.name)).toEqual(['bk-snap']);
    expect(manifest.volumes.map((v) => v.name)).toEqual(['bk-vol']);
    expect(manifest.images.map((i) => `${i.id} ${i.sha256}`).sort()).toEqual(before.images);
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['db/pglite.tar', 'state/seal.key', 'state/admin.token']));
    expect(paths.some((x) => x.startsWith('state/ca/'))).toBe(true);
    for (const img of manifest.images) expect(img.file).toMatch(/^images\//);
    // A caller without a valid token gets no archive, and no file is left.
    const nope = join(p.dir, 'nope.tar');
    const refused = await cli(['backup', 'create', '--out', nope], { ...env, HEARTH_TOKEN: 'hth_bad' });
    expect(refused.code).not.toBe(0);
    expect(existsSync(nope) || existsSync(`${nope}.part`)).toBe(false);
  });

  it('refuses a non-empty data directory and a damaged archive', async () => {
    const busy = join(p.dir, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'x'), 'x');
    const r = await cli(['backup', 'restore', archive, '--data-dir', busy], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is not empty/);
    // One byte of the manifest's database checksum changed: the dump no longer matches.
    const damaged = join(p.dir, 'damaged');
    await mkdir(damaged);
    execFileSync('tar', ['-xf', archive, '-C', damaged]);
    const m = join(damaged, 'manifest.json');
    const text = execFileSync('cat', [m], { encoding: 'utf8' });
    const j = JSON.parse(text) as { files: { path: string; sha256: string }[] };
    const db = j.files.find((f) => f.path === 'db/pglite.tar')!;
    db.sha256 = (db.sha256[0] === '0' ? '1' : '0') + db.sha256.slice(1);
    await writeFile(m, JSON.stringify(j));
    const badTar = join(p.dir, 'damaged.tar');
    execFileSync('tar', ['-cf', badTar, '-C', damaged, '.']);
    const bad = await cli(['backup', 'restore', badTar, '--data-dir', join(p.dir, 'fresh')], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/db\/pglite\.tar does not match its sha256/);
  });

  it('rebuilds the manager on an empty data directory; the agent reconciles; the VM boots with its disk', async () => {
    await p.manager.dispose();
    await rm(join(p.dir, 'manager'), { recursive: true, force: true });
    const r = await cli(['backup', 'restore', archive, '--data-dir', join(p.dir, 'manager')], env);
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/restored pglite database, 1 VMs, \d+ images, 1 snapshots, 1 volumes/);
    await p.startManager();
    expect(await listed()).toEqual(before);
    // The agent comes back with its own credential, trusted by the restored CA.
    await until(
      'the host is ready again',
      async () => (await p.client.all('listHosts')).some((h) => h.state === 'ready'),
      120_000,
    );
    expect((await waitState(vm.id, 'running')).state).toBe('running');
    // A real boot from the disk the agent kept: stop, start, read the marker.
    await p.client.call('stopVm', { params: { id: vm.id }, body: {} });
    await waitState(vm.id, 'stopped');
    await p.client.call('startVm', { params: { id: vm.id } });
    await waitState(vm.id, 'running');
    expect(await sh(vm.id, 'cat /root/marker')).toBe('kept across the restore');
    // The snapshot taken before the backup restores too.
    await p.client.call('restoreVm', { params: { id: vm.id }, body: { snapshot: 'bk-snap' } });
    await waitState(vm.id, 'running');
    expect(await sh(vm.id, 'cat /root/marker')).toBe('kept across the restore');
  });
});
