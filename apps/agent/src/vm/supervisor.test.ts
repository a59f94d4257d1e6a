import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HearthError, type AgentVmSpec, type AgentVmStatus } from '@hearth/contract';
import { runDirPaths, type VmmDriver, type VmmExit, type VmmInstance, type VmmLaunchSpec } from '@hearth/vmm';
import { Supervisor } from './supervisor.ts';

/** A VMM that never runs a guest: it exits when told to (or killed), like a real one would. */
class FakeInstance implements VmmInstance {
  readonly pid = 999_999;
  readonly accel = 'tcg' as const;
  readonly exited: Promise<VmmExit>;
  exit!: (cause: string) => void;
  state: 'running' | 'paused' = 'running';
  constructor() {
    this.exited = new Promise((r) => (this.exit = (cause) => r({ cause, code: null })));
  }
  async pause() {
    this.state = 'paused';
  }
  async resume() {
    this.state = 'running';
  }
  async requestShutdown() {
    this.exit('guest-shutdown');
  }
  async kill() {
    this.exit('killed');
    await this.exited;
  }
  async status() {
    return this.state;
  }
  connectGuest(): never {
    throw new Error('no guest here');
  }
  dispose() {}
}

class FakeDriver implements VmmDriver {
  readonly kind = 'qemu' as const;
  launched: FakeInstance[] = [];
  /** Written to the run directory's stderr file, and the VMM exits at once. */
  dieWith: string | null = null;
  async probe() {
    return { available: true, version: '9.0.0', reason: null } as never;
  }
  async launch(spec: VmmLaunchSpec) {
    const i = new FakeInstance();
    this.launched.push(i);
    if (this.dieWith !== null) {
      await writeFile(runDirPaths(spec.runDir).qemuStderr, `starting\n${this.dieWith}\n`);
      i.exit('vmm-error');
    }
    return i;
  }
  async adopt() {
    return null;
  }
}

describe('Supervisor (fake VMM)', () => {
  let dir: string;
  let driver: FakeDriver;
  let sup: Supervisor;
  let changes: AgentVmStatus[];
  let spec: AgentVmSpec;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-sup-'));
    const image = join(dir, 'image');
    await writeFile(image, Buffer.alloc(1024 * 1024));
    const ref = { path: image, sha256: 'x' };
    spec = {
      id: 'vm_fake',
      name: 'fake',
      vcpus: 1,
      memoryMib: 64,
      diskMib: 1,
      vmm: 'qemu',
      kernel: ref,
      initrd: null,
      rootfs: ref,
      bootMarker: 'booted',
      bootArgs: '',
      env: {},
      guest: null,
      ports: [],
      volumes: [],
      nics: [],
      egress: null,
      bandwidthMbit: null,
    };
    driver = new FakeDriver();
    changes = [];
    sup = new Supervisor({
      dataDir: dir,
      drivers: [driver],
      log: pino({ level: 'silent' }),
      bootTimeoutMs: 60_000,
      consoleLogCap: 1 << 20,
      guestAgentPath: null,
      onUnexpectedChange: (s) => changes.push(s),
    });
    await sup.init();
  });

  afterEach(async () => {
    sup.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('a VMM that exits before the boot marker: failed, with its cause and last stderr line, disk removed', async () => {
    driver.dieWith = 'qemu: could not open disk image';
    const st = await sup.start(spec);
    expect(st.phase).toBe('failed');
    expect(st.reason).toMatch(
      /^Booting failed: the VMM exited before the guest was up \(vmm-error\): qemu: could not open disk image: the guest printed nothing/,
    );
    const f = runDirPaths(join(dir, 'vms', spec.id));
    await expect(readFile(f.disk)).rejects.toThrow(/ENOENT/);
    expect(JSON.parse(await readFile(f.state, 'utf8'))).toMatchObject({ intent: 'failed' });
    expect(changes).toEqual([]);
  });

  it('refuses to pause or snapshot a VM that does not run with VM_INVALID_STATE, and a bad snapshot id with VALIDATION_FAILED', async () => {
    driver.dieWith = '';
    await sup.start(spec);
    const pause = await sup.pause(spec.id).catch((e: unknown) => e);
    expect(pause).toBeInstanceOf(HearthError);
    expect(pause).toMatchObject({
      code: 'VM_INVALID_STATE',
      status: 409,
      detail: { state: 'failed', action: 'pause', allowedFrom: ['running'] },
    });
    expect((pause as HearthError).hint).toBeTruthy();
    await expect(sup.resume(spec.id)).rejects.toMatchObject({ code: 'VM_INVALID_STATE' });
    await expect(sup.snapshot(spec.id, 'snap1')).rejects.toMatchObject({ code: 'VM_INVALID_STATE' });
    await expect(sup.guest(spec.id)).rejects.toMatchObject({ code: 'VM_NOT_RUNNING', status: 409 });
    await expect(sup.deleteSnapshot('../x')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
    await expect((async () => sup.stop('vm_nope', { force: true, timeoutMs: 1 }))()).rejects.toMatchObject({
      code: 'VM_NOT_FOUND',
    });
  });

  it('refuses to delete a snapshot a diff snapshot builds on (SNAPSHOT_IN_USE), until the diff is gone', async () => {
    const snaps = join(dir, 'snapshots');
    const meta = (type: string, base: string | null) =>
      JSON.stringify({
        vmm: 'firecracker',
        type,
        vmId: spec.id,
        createdAt: '2026-01-01T00:00:00.000Z',
        firecracker: base ? { base: { dir: join(snaps, base), vmId: spec.id, createdAt: 'x' } } : {},
      });
    for (const [id, type, base] of [
      ['snap_full', 'full', null],
      ['snap_d1', 'diff', 'snap_full'],
    ] as const) {
      await mkdir(join(snaps, id), { recursive: true });
      await writeFile(join(snaps, id, 'snapshot.json'), meta(type, base));
    }
    const e = await sup.deleteSnapshot('snap_full').catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'SNAPSHOT_IN_USE', status: 409, detail: { dependents: ['snap_d1'] } });
    expect((e as Error).message).toMatch(/the diff snapshot snap_d1 holds only the memory changed since it/);
    await sup.deleteSnapshot('snap_d1');
    await sup.deleteSnapshot('snap_full');
    await expect(readFile(join(snaps, 'snap_full', 'snapshot.json'))).rejects.toThrow(/ENOENT/);
  });

  it('a stop is an expected exit: no unexpected change is reported; an exit nobody asked for is', async () => {
    const booting = sup.start(spec);
    const f = runDirPaths(join(dir, 'vms', spec.id));
    // The boot marker appears on the console, as a guest would print it.
    for (;;) {
      if (driver.launched.length) break;
      await new Promise((r) => setImmediate(r));
    }
    await writeFile(f.consoleLog, 'booted\n', { flag: 'a' });
    expect((await booting).phase).toBe('running');
    const stopped = await sup.stop(spec.id, { force: false, timeoutMs: 60_000 });
    expect(stopped).toMatchObject({ phase: 'stopped', reason: 'the guest shut down' });
    expect(changes).toEqual([]);

    const again = sup.start(spec);
    for (;;) {
      if (driver.launched.length === 2) break;
      await new Promise((r) => setImmediate(r));
    }
    await writeFile(f.consoleLog, 'booted\n', { flag: 'a' });
    expect((await again).phase).toBe('running');
    driver.launched[1]!.exit('guest-shutdown');
    await driver.launched[1]!.exited;
    for (;;) {
      if (changes.length) break;
      await new Promise((r) => setImmediate(r));
    }
    expect(changes[0]).toMatchObject({ phase: 'stopped', reason: 'the guest powered itself off' });
  });
});
