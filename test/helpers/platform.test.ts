import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guardTable, policyTable, portTable } from '@hearth/agent';
import { killLeftoverVmms } from './platform.ts';

describe('killLeftoverVmms', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  /** A long-running process standing in for a VMM, started in `cwd`. */
  const vmm = (cwd: string) => {
    const c = spawn('sleep', ['600'], { cwd, stdio: 'ignore' });
    children.push(c);
    const exited = new Promise<NodeJS.Signals | null>((res) => c.on('exit', (_code, sig) => res(sig)));
    return { pid: c.pid!, exited, stop: () => c.kill('SIGTERM') };
  };

  it('kills a Firecracker left behind (firecracker.pid) and a QEMU (qemu.pid), not a stale pid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-leftovers-'));
    dirs.push(dir);
    const runDir = (id: string) => join(dir, 'agent', 'vms', id);
    const [fcId, qemuId, staleId] = ['fc', 'qemu', 'stale'].map(
      (k) => `vm_${k}${randomBytes(4).toString('hex')}`,
    );
    for (const id of [fcId!, qemuId!, staleId!]) await mkdir(runDir(id), { recursive: true });
    const fc = vmm(runDir(fcId!));
    const qemu = vmm(runDir(qemuId!));
    const unrelated = vmm(dir); // its pid sits in a stale pid file, but it is nobody's VMM
    await writeFile(join(runDir(fcId!), 'firecracker.pid'), `${fc.pid}\n`);
    await writeFile(join(runDir(qemuId!), 'qemu.pid'), `${qemu.pid}\n`);
    await writeFile(join(runDir(staleId!), 'firecracker.pid'), `${unrelated.pid}\n`);

    await killLeftoverVmms(dir);
    expect(await fc.exited).toBe('SIGKILL');
    expect(await qemu.exited).toBe('SIGKILL');
    unrelated.stop(); // still running, so it ends by our SIGTERM rather than the helper's SIGKILL
    expect(await unrelated.exited).toBe('SIGTERM');
  });

  it('removes every per-VM nft table, the TAP guard too (it outlives its TAP)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-leftovers-'));
    dirs.push(dir);
    const id = `vm_tables${randomBytes(4).toString('hex')}`;
    await mkdir(join(dir, 'agent', 'vms', id), { recursive: true });
    const tables = [
      ['ip', portTable(id)],
      ['netdev', guardTable(id)],
      ['inet', policyTable(id)],
    ] as const;
    try {
      for (const [family, t] of tables) execFileSync('nft', ['add', 'table', family, t]);
      await killLeftoverVmms(dir);
      const left = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
      for (const [, t] of tables) expect(left).not.toContain(t);
    } finally {
      for (const [family, t] of tables) spawnSync('nft', ['delete', 'table', family, t]);
    }
  });
});
