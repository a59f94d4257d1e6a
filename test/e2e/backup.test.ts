import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot, Vm } from '@hearth/contract';
import pg from 'pg';
import { pgSkipReason } from '../helpers/pg.ts';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// Backup → wipe → restore of a real manager, on PGlite and on PostgreSQL: the same VMs, images
// and snapshots are listed, the agent reconnects, and the VM boots again with its disk intact.
// The manifest's volume and snapshot checksums are those of the files on the agent's disk; a
// snapshot whose files went missing before the restore is flagged by the check that follows it.
function suite(db: 'pglite' | 'postgres'): void {
  const dbFile = db === 'pglite' ? 'db/pglite.tar' : 'db/postgres.dump';
  let p: Platform;
  let vm: Vm;
  let env: Record<string, string>;
  let archive = '';
  let before: { vms: string[]; images: string[]; snapshots: string[]; volumes: string[] };
  let gone: Snapshot;
  let agentDir = '';

  /** sha256 of a file the test reads itself, independent of the product's hashing. */
  const sumOf = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

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
    p = await startPlatform({ db });
    env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    agentDir = join(p.dir, 'agent');
    // bk-att is attached to the running VM (its bytes may change: listed without a sum); bk-vol
    // is free (its host reads it at backup time).
    await p.client.call('createVolume', { body: { name: 'bk-att', size: '16mb' } });
    const made = await p.client.call('createVm', { body: { name: 'bk-vm', start: false } });
    await p.client.call('attachVolume', { params: { id: 'bk-att' }, body: { vm: made.id } });
    await p.client.call('startVm', { params: { id: made.id } });
    vm = await waitState(made.id, 'running');
    await sh(vm.id, 'echo "kept across the restore" > /root/marker && sync');
    await p.client.call('createSnapshot', { params: { id: vm.id }, body: { name: 'bk-snap' } });
    gone = await p.client.call('createSnapshot', { params: { id: vm.id }, body: { name: 'bk-gone' } });
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
        snapshots: {
          id: string;
          name: string;
          sha256: string | null;
          files: Record<string, string> | null;
          sha256Reason: string | null;
        }[];
        volumes: { id: string; name: string; sha256: string | null; sha256Reason: string | null }[];
        files: { path: string; sha256: string }[];
      };
      expect(manifest.database.kind).toBe(db);
      expect(manifest.vms).toBe(1);
      expect(manifest.snapshots.map((s) => s.name).sort()).toEqual(['bk-gone', 'bk-snap']);
      expect(manifest.volumes.map((v) => v.name).sort()).toEqual(['bk-att', 'bk-vol']);
      // Each snapshot file's sum is that of the file on the agent's disk, and the digest is the
      // sha256sum listing of them (what `sha256sum * | sha256sum` gives in the directory).
      const apiSnaps = await p.client.all('listSnapshots');
      for (const s of manifest.snapshots) {
        const dir = join(agentDir, 'snapshots', s.id);
        const names = (await readdir(dir)).sort();
        expect(names.length).toBeGreaterThan(1);
        expect(Object.keys(s.files ?? {}).sort()).toEqual(names);
        const onDisk = names.map((n) => sumOf(join(dir, n)));
        expect(names.map((n) => s.files![n])).toEqual(onDisk);
        const listing = names.map((n, i) => `${onDisk[i]}  ${n}\n`).join('');
        expect(s.sha256).toBe(createHash('sha256').update(listing).digest('hex'));
        expect(s.sha256Reason).toBeNull();
        expect(apiSnaps.find((x) => x.id === s.id)?.sha256).toBe(s.sha256);
      }
      const free = manifest.volumes.find((v) => v.name === 'bk-vol')!;
      expect(free.sha256).toBe(sumOf(join(agentDir, 'volumes', `${free.id}.img`)));
      const att = manifest.volumes.find((v) => v.name === 'bk-att')!;
      expect(att).toMatchObject({ sha256: null, sha256Reason: expect.stringMatching(/running/) });
      expect(manifest.images.map((i) => `${i.id} ${i.sha256}`).sort()).toEqual(before.images);
      const paths = manifest.files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining([dbFile, 'state/seal.key', 'state/admin.token']));
      expect(paths.some((x) => x.startsWith('state/ca/'))).toBe(true);
      for (const img of manifest.images) expect(img.file).toMatch(/^images\//);
      // A caller without a valid token gets no archive, and no file is left.
      const nope = join(p.dir, 'nope.tar');
      const refused = await cli(['backup', 'create', '--out', nope], { ...env, HEARTH_TOKEN: 'hth_bad' });
      expect(refused.code).not.toBe(0);
      expect(existsSync(nope) || existsSync(`${nope}.part`)).toBe(false);
    }, 900_000);

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
      const dump = j.files.find((f) => f.path === dbFile)!;
      dump.sha256 = (dump.sha256[0] === '0' ? '1' : '0') + dump.sha256.slice(1);
      await writeFile(m, JSON.stringify(j));
      const badTar = join(p.dir, 'damaged.tar');
      execFileSync('tar', ['-cf', badTar, '-C', damaged, '.']);
      const bad = await cli(['backup', 'restore', badTar, '--data-dir', join(p.dir, 'fresh')], env);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain(`${dbFile} does not match its sha256`);
    });

    it('rebuilds the manager on an empty data directory; the agent reconciles; the VM boots with its disk', async () => {
      await p.manager.dispose();
      await rm(join(p.dir, 'manager'), { recursive: true, force: true });
      // Lost on the host while the manager was down: the check after the restore must say so.
      await rm(join(agentDir, 'snapshots', gone.id), { recursive: true });
      // PostgreSQL: the database is lost too (emptied), and the dump goes back into it.
      if (p.databaseUrl) {
        const c = new pg.Client({ connectionString: p.databaseUrl });
        await c.connect();
        await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
        await c.end();
      }
      const dbArgs = p.databaseUrl ? ['--database-url', p.databaseUrl] : [];
      const r = await cli(
        ['backup', 'restore', archive, '--data-dir', join(p.dir, 'manager'), ...dbArgs],
        env,
      );
      expect(r.stderr).not.toMatch(/failed/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`restored ${db} database, 1 VMs, \\d+ images, 2 snapshots, 2 volumes`),
      );
      await p.startManager();
      expect(await listed()).toEqual(before);
      const problems = async () =>
        Object.fromEntries((await p.client.all('listSnapshots')).map((s) => [s.name, s.problem ?? null]));
      await until(
        'the missing snapshot is flagged',
        async () => /missing/.test((await problems())['bk-gone'] ?? ''),
        120_000,
      );
      expect((await problems())['bk-snap']).toBeNull();
      const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 500 } });
      expect(events.items.some((e) => e.type === 'snapshot-problem' && e.reason?.includes(gone.id))).toBe(
        true,
      );
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
    }, 900_000);
  });
}

describe('on PGlite', () => suite('pglite'));
describe.skipIf(pgSkipReason() !== null)('on PostgreSQL', () => suite('postgres'));
