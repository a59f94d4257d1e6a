import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm, VmArchiveManifest } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli, CLI_ENV, HEARTH_BIN } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// A VM moved between two installations (two managers, each with its own agent, database and
// data directory): exported stopped from one, imported into the other, where it boots with the
// file written on the first; exported running (through a snapshot) back again; exported with its
// memory and resumed (same processes) on either installation, an old-format one booted cold; and
// archives altered after export refused with their error codes, leaving nothing behind.
let a: Platform;
let b: Platform;
let envA: Record<string, string>;
let envB: Record<string, string>;
let archive = '';
const MARKER = 'written on installation A';

const sh = async (p: Platform, id: string, command: string) => {
  const r = await p.client.call('execVm', { params: { id }, body: { command } });
  if (r.exitCode !== 0) throw new Error(`"${command}" failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout.trim();
};
const waitState = (p: Platform, id: string, state: 'running' | 'stopped') =>
  p.client.call('waitVm', { params: { id }, query: { state, timeout: 300 } });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The archive unpacked into `dir`, changed by `edit`, packed again (manifest first). */
async function altered(name: string, edit: (dir: string, m: VmArchiveManifest) => Promise<void>) {
  const dir = join(a.dir, name);
  await mkdir(dir);
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as VmArchiveManifest;
  await edit(dir, m);
  const out = join(a.dir, `${name}.tar`);
  execFileSync('tar', ['-cf', out, '-C', dir, 'manifest.json', ...m.files.map((f) => f.path)]);
  return out;
}

const importJson = async (file: string, extra: string[] = []) => {
  const r = await cli(['--json', 'vm', 'import', file, ...extra], envB);
  const envelope = r.code
    ? (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string } })
    : null;
  return { ...r, error: envelope?.error ?? null };
};

beforeAll(async () => {
  [a, b] = await Promise.all([startPlatform(), startPlatform()]);
  envA = { ...CLI_ENV, HEARTH_URL: a.manager.url, HEARTH_TOKEN: a.manager.adminToken };
  envB = { ...CLI_ENV, HEARTH_URL: b.manager.url, HEARTH_TOKEN: b.manager.adminToken };
  const made = await a.client.call('createVm', {
    body: { name: 'mover', labels: { tier: 'web' }, env: { GREETING: 'hello' }, memoryMib: 256 },
  });
  await waitState(a, made.id, 'running');
  await sh(a, made.id, `echo "${MARKER}" > /root/marker && sync`);
  await a.client.call('stopVm', { params: { id: made.id }, body: {} });
  await waitState(a, made.id, 'stopped');
  archive = join(a.dir, 'mover.tar');
}, 600_000);
afterAll(async () => {
  await Promise.all([a?.dispose(), b?.dispose()]);
});

describe('VM export and import between two managers (real VMs)', () => {
  it('exports the stopped VM: manifest first, the disk sparse and checksummed, no secrets', async () => {
    const r = await cli(['vm', 'export', 'mover', '--out', archive], envA);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(`${archive}.part`)).toBe(false);
    // The manifest comes first and lists the disk with the sha256 of its bytes in the archive.
    const members = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n');
    expect(members).toEqual(['manifest.json', 'disk.hsparse']);
    const m = JSON.parse(
      execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }),
    ) as VmArchiveManifest;
    expect(m).toMatchObject({ format: 'hearth-vm-export', version: 1, memory: null });
    expect(m.vm).toMatchObject({
      name: 'mover',
      memoryMib: 256,
      labels: { tier: 'web' },
      env: { GREETING: 'hello' },
    });
    const disk = execFileSync('tar', ['-xOf', archive, 'disk.hsparse'], { maxBuffer: 2 ** 31 });
    expect(m.files).toEqual([{ path: 'disk.hsparse', sha256: sha(disk), sizeBytes: disk.length }]);
    // Sparse: the 1 GiB disk travels as the blocks the guest and its image hold, not as 1 GiB.
    expect(m.disk.sizeBytes).toBe(m.vm.diskMib * 2 ** 20);
    expect((await stat(archive)).size).toBeLessThan(m.disk.sizeBytes / 2);
    // No secret in the manifest: no guest channel secret, no password hash.
    expect(JSON.stringify(m)).not.toMatch(/secret|passwordHash/i);
    // `hearth vm export mover > file` writes the same disk to standard output.
    const redirected = join(a.dir, 'stdout.tar');
    const out = await open(redirected, 'w');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [HEARTH_BIN, 'vm', 'export', 'mover'], {
        env: { ...process.env, ...envA },
        stdio: ['ignore', out.fd, 'inherit'],
      });
      child.on('error', reject);
      child.on('close', resolve);
    });
    await out.close();
    expect(code).toBe(0);
    expect(
      execFileSync('tar', ['-xOf', redirected, 'disk.hsparse'], { maxBuffer: 2 ** 31 }).equals(disk),
    ).toBe(true);
  }, 600_000);

  it('refuses an altered disk, an unknown format version and a missing image, keeping nothing', async () => {
    const tampered = await altered('tampered', async (dir) => {
      // One byte of the first extent's data (past its 16-byte header) changed: same size.
      const fh = await open(join(dir, 'disk.hsparse'), 'r+');
      const one = Buffer.alloc(1);
      await fh.read(one, 0, 1, 100);
      one[0] = one[0]! ^ 0xff;
      await fh.write(one, 0, 1, 100);
      await fh.close();
    });
    const bad = await importJson(tampered);
    expect(bad.code).not.toBe(0);
    expect(bad.error?.code).toBe('VM_ARCHIVE_CHECKSUM_MISMATCH');

    const future = await altered('future', async (dir, m) => {
      await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...m, version: 99 }));
    });
    expect((await importJson(future)).error?.code).toBe('VM_ARCHIVE_VERSION_UNSUPPORTED');

    const noImage = await altered('no-image', async (dir, m) => {
      await writeFile(
        join(dir, 'manifest.json'),
        JSON.stringify({ ...m, image: { ...m.image, sha256: 'f'.repeat(64) } }),
      );
    });
    const missing = await importJson(noImage);
    expect(missing.error?.code).toBe('VM_ARCHIVE_IMAGE_MISSING');
    expect(missing.stderr).toMatch(/--with-image/);

    // Nothing of the refused imports stays: no VM record, no run directory on B's host.
    expect(await b.client.all('listVms')).toEqual([]);
    expect(await readdir(join(b.dir, 'agent', 'vms')).catch(() => [])).toEqual([]);
  });

  let imported: Vm;
  it('imports it into the other manager, where it boots with the marker on its disk', async () => {
    // From standard input, as `hearth vm import - < mover.tar`.
    const r = await cli(['--json', 'vm', 'import', '-', '--name', 'moved'], envB, await readFile(archive));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const made = JSON.parse(r.stdout) as Vm;
    expect(made).toMatchObject({ name: 'moved', memoryMib: 256, labels: { tier: 'web' } });
    imported = await waitState(b, made.id, 'running');
    expect(await sh(b, imported.id, 'cat /root/marker')).toBe(MARKER);
  });

  it('exports the running VM through a snapshot (deleted afterwards) and imports it back', async () => {
    await sh(b, imported.id, 'echo "written on installation B" > /root/second && sync');
    const back = join(b.dir, 'back.tar');
    // Running: its disk is being written, so only a snapshot gives a consistent copy.
    const refused = await cli(['--json', 'vm', 'export', 'moved', '--out', back], envB);
    expect(JSON.parse(refused.stderr.trim().split('\n').pop()!) as { error: { code: string } }).toMatchObject(
      {
        error: { code: 'VM_INVALID_STATE' },
      },
    );
    expect(existsSync(back) || existsSync(`${back}.part`)).toBe(false);
    const r = await cli(['vm', 'export', 'moved', '--snapshot', '--out', back], envB);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await b.client.call('getVm', { params: { id: imported.id } })).state).toBe('running');
    expect(await b.client.all('listSnapshots')).toEqual([]);
    const again = await cli(['--json', 'vm', 'import', back, '--name', 'returned', '--wait'], envA);
    expect(again.stderr).toBe('');
    const vm = JSON.parse(again.stdout) as Vm;
    expect(vm.state).toBe('running');
    expect(await sh(a, vm.id, 'cat /root/marker /root/second')).toBe(`${MARKER}\nwritten on installation B`);
    // Done with it: an idle TCG guest still costs CPU the next steps need.
    await a.client.call('deleteVm', { params: { id: vm.id } });
  });

  // A process started before the export, its counter kept in its own memory: a cold boot would
  // lose it (no such pid, no counter), a restart would start it again from 1.
  const COUNTER =
    "(sh -c 'echo $$ > /run/counter.pid; i=0; while :; do i=$((i+1)); echo $i > /run/counter; sleep 1; done' </dev/null >/dev/null 2>&1 &)";
  let memArchive = '';
  let pid = '';
  let atExport = 0;
  const counter = async (p: Platform, id: string) => Number(await sh(p, id, 'cat /run/counter'));
  const events = async (p: Platform, id: string) =>
    (await p.client.call('vmEvents', { params: { id } })).items.map((e) => `${e.type}: ${e.reason ?? ''}`);

  /** The imported VM runs the very process the exported one did, its counter going on, on `p`'s network. */
  async function expectResumed(p: Platform, vm: Vm, name: string) {
    expect(vm.name).toBe(name);
    expect((await events(p, vm.id)).join('\n')).toMatch(/resumes from the saved memory/);
    const up = await waitState(p, vm.id, 'running');
    expect(await sh(p, vm.id, 'cat /run/counter.pid')).toBe(pid);
    expect(await sh(p, vm.id, `tr '\\0' ' ' < /proc/${pid}/cmdline`)).toMatch(/while :/);
    const resumedAt = await counter(p, vm.id);
    expect(resumedAt).toBeGreaterThanOrEqual(atExport);
    await until('the counter goes on', async () => (await counter(p, vm.id)) > resumedAt, 120_000);
    // The disk as it was: both files written before the export.
    expect(await sh(p, vm.id, 'cat /root/marker /root/second')).toBe(`${MARKER}\nwritten on installation B`);
    // Its NIC on a new TAP of this installation: its own name and address, the gateway reachable.
    expect(await sh(p, vm.id, 'hostname')).toBe(name);
    expect(await sh(p, vm.id, 'ip -4 -o addr')).toContain(`${up.ip}/`);
    await sh(p, vm.id, `ping -c 1 -W 10 ${p.net.gateway}`);
  }

  it('exports a running VM with its memory (version 2) and resumes it under a new name beside it', async () => {
    await sh(b, imported.id, COUNTER);
    await until('the counter runs', async () => (await counter(b, imported.id)) >= 2, 120_000);
    pid = await sh(b, imported.id, 'cat /run/counter.pid');
    atExport = await counter(b, imported.id);
    memArchive = join(b.dir, 'memory.tar');
    const r = await cli(['vm', 'export', 'moved', '--memory', '--out', memArchive], envB);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const members = execFileSync('tar', ['-tf', memArchive], { encoding: 'utf8' }).trim().split('\n');
    expect(members).toEqual(['manifest.json', 'disk.hsparse', 'memory.hsparse']);
    const m = JSON.parse(
      execFileSync('tar', ['-xOf', memArchive, 'manifest.json'], { encoding: 'utf8' }),
    ) as VmArchiveManifest;
    expect(m.version).toBe(2);
    const mem = execFileSync('tar', ['-xOf', memArchive, 'memory.hsparse'], { maxBuffer: 2 ** 31 });
    expect(m.files.find((f) => f.path === 'memory.hsparse')).toEqual({
      path: 'memory.hsparse',
      sha256: sha(mem),
      sizeBytes: mem.length,
    });
    expect(m.memory?.restore).toMatchObject({
      hasAgent: true,
      nics: [{ mac: imported.networks[0]!.mac, network: imported.networks[0]!.networkName }],
    });
    expect(await b.client.all('listSnapshots')).toEqual([]);

    const again = await cli(['--json', 'vm', 'import', memArchive, '--name', 'resumed'], envB);
    expect(again.stderr).toBe('');
    const vm = JSON.parse(again.stdout) as Vm;
    await expectResumed(b, vm, 'resumed');
    // The original goes on as well, untouched.
    expect(await sh(b, imported.id, 'hostname')).toBe('moved');
    await b.client.call('deleteVm', { params: { id: vm.id } });
  }, 600_000);

  it('resumes it on the other installation, on its own network', async () => {
    const r = await cli(['--json', 'vm', 'import', memArchive, '--name', 'resumed-a'], envA);
    expect(r.stderr).toBe('');
    const vm = JSON.parse(r.stdout) as Vm;
    expect(vm.networks[0]!.ip).not.toBe(imported.networks[0]!.ip);
    await expectResumed(a, vm, 'resumed-a');
    await a.client.call('deleteVm', { params: { id: vm.id } });
  }, 600_000);

  it('boots an archive of version 1 (no saved devices) cold, and says so', async () => {
    const dir = join(b.dir, 'v1');
    await mkdir(dir);
    execFileSync('tar', ['-xf', memArchive, '-C', dir]);
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as VmArchiveManifest;
    const { restore: _dropped, ...memory } = m.memory!;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...m, version: 1, memory }));
    const old = join(b.dir, 'v1.tar');
    execFileSync('tar', ['-cf', old, '-C', dir, 'manifest.json', ...m.files.map((f) => f.path)]);
    const r = await cli(['--json', 'vm', 'import', old, '--name', 'cold', '--wait'], envA);
    expect(r.stderr).toBe('');
    const vm = JSON.parse(r.stdout) as Vm;
    expect(vm.state).toBe('running');
    expect((await events(a, vm.id)).join('\n')).toMatch(
      /memory snapshot was not restored \(the archive is version 1[^)]*\), the VM boots from its disk/,
    );
    // Booted: the process is gone, the disk is there.
    expect(
      await sh(a, vm.id, `test -e /proc/${pid}/cmdline && tr '\\0' ' ' < /proc/${pid}/cmdline || echo gone`),
    ).not.toMatch(/while :/);
    expect(await sh(a, vm.id, 'cat /root/marker')).toBe(MARKER);
  }, 600_000);
});
