import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm, Volume } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';
import { cli } from '../helpers/proc.ts';

// Snapshot schedules on a real QEMU VM with a data volume: the schedule fires and prunes on an
// injected clock, a scheduled snapshot restores the volume's bytes, a failure becomes an event.
let p: Platform;
let vm: Vm;
let vol: Volume;
/** The manager's schedule clock runs this far ahead of the real one. */
let ahead = 0;
let env: Record<string, string>;

const sh = async (id: string, command: string) => {
  const r = await p.client.call('execVm', { params: { id }, body: { command } });
  if (r.exitCode !== 0) throw new Error(`"${command}" failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout.trim();
};
const waitState = (id: string, state: 'running' | 'stopped') =>
  p.client.call('waitVm', { params: { id }, query: { state, timeout: 300 } });
const mount = (serial: string) =>
  `for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)" = "${serial}" ] && dev=/dev/$(basename $d); done; ` +
  `mkdir -p /mnt/data && mount "$dev" /mnt/data`;
/** Moves the schedule clock to just past the schedule's next run. */
const passNextRun = async (id: string) => {
  const s = await p.client.call('getSchedule', { params: { id } });
  ahead = Date.parse(s.nextRunAt!) + 1000 - Date.now();
};
const scheduled = async (schedule: string) =>
  (await p.client.call('listSnapshots', { query: { vm: vm.id } })).items.filter((s) =>
    s.name.startsWith(schedule === 'hourly' ? 'sched-vm-' : schedule),
  );

beforeAll(async () => {
  p = await startPlatform({
    // A long interval: the test runs passes itself (runDue) at the instants it chose.
    manager: { schedules: { clock: () => new Date(Date.now() + ahead), intervalMs: 3_600_000 } },
  });
  env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  vol = await p.client.call('createVolume', { body: { name: 'sched-data', size: '32mb' } });
  const made = await p.client.call('createVm', { body: { name: 'sched-vm', start: false } });
  await p.client.call('attachVolume', { params: { id: vol.id }, body: { vm: made.id } });
  await p.client.call('startVm', { params: { id: made.id } });
  vm = await waitState(made.id, 'running');
  await sh(vm.id, mount(vol.serial));
}, 300_000);
afterAll(async () => {
  await p?.dispose();
});

describe('snapshot schedules (real VM with a volume)', () => {
  let schedId = '';
  let first = '';

  it('refuses bad input, and creates a schedule from the CLI', async () => {
    await expectCode(
      () =>
        p.client.call('createSchedule', {
          body: { vm: vm.id, cron: '61 * * * *', retention: { count: 2 }, memory: true, enabled: true },
        }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      () =>
        p.client.call('createSchedule', {
          body: { vm: 'no-such-vm', cron: '0 * * * *', retention: { count: 2 }, memory: true, enabled: true },
        }),
      'VM_NOT_FOUND',
    );
    const r = await cli(
      [
        'snapshot',
        'schedule',
        'create',
        'sched-vm',
        '--cron',
        '0 * * * *',
        '--keep',
        '2',
        '--max-age',
        '1d',
        '--name',
        'hourly',
      ],
      env,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^schedule hourly \(sched_\w+\): "0 \* \* \* \*", next run \d{4}-\d\d-\d\dT\d\d:00:00.000Z/,
    );
    const ls = await cli(['--json', 'snapshot', 'schedule', 'ls'], env);
    const items = JSON.parse(ls.stdout) as { id: string; name: string; retention: unknown; vm: string }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ name: 'hourly', vm: vm.id, retention: { count: 2, maxAge: '1d' } });
    schedId = items[0]!.id;
  });

  it('does nothing before the next run, then snapshots the VM and its volume once', async () => {
    expect((await p.manager.schedules.runDue()).ran).toEqual([]);
    await sh(vm.id, 'echo one > /mnt/data/v');
    await passNextRun(schedId);
    const report = await p.manager.schedules.runDue();
    expect(report).toMatchObject({ ran: [schedId], failed: [], pruned: [] });
    expect(report.taken).toHaveLength(1);
    first = report.taken[0]!;
    // The same instant again: the run is not repeated.
    expect((await p.manager.schedules.runDue()).ran).toEqual([]);
    expect((await p.client.call('getVm', { params: { id: vm.id } })).state).toBe('running');
    const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 500 } });
    expect(events.items.some((e) => e.type === 'snapshot' && e.actor === 'schedule:hourly')).toBe(true);
  });

  it('restores the volume contents with the snapshot', async () => {
    await sh(vm.id, 'echo two > /mnt/data/v && sync');
    await p.client.call('restoreVm', { params: { id: vm.id }, body: { snapshot: first } });
    await waitState(vm.id, 'running');
    // Read from the disk, not from the restored page cache: the volume file itself went back.
    await sh(vm.id, 'sync && echo 3 > /proc/sys/vm/drop_caches');
    expect(await sh(vm.id, 'cat /mnt/data/v')).toBe('one');
  });

  it('prunes by count, then by age', async () => {
    const ids: string[] = [first];
    for (let i = 0; i < 2; i++) {
      await passNextRun(schedId);
      const r = await p.manager.schedules.runDue();
      expect(r.failed).toEqual([]);
      ids.push(...r.taken);
    }
    // Three taken, two kept: the oldest went.
    expect((await scheduled('hourly')).map((s) => s.id).sort()).toEqual(ids.slice(1).sort());
    const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 500 } });
    expect(events.items.filter((e) => e.type === 'snapshot-pruned').map((e) => e.reason)).toEqual([
      expect.stringContaining(first),
    ]);
    // Two days on (the missed runs are not caught up: one run): both kept ones are past the 1d
    // age; only the new one stays.
    ahead += 2 * 86_400_000;
    const r = await p.manager.schedules.runDue();
    expect(r.pruned.sort()).toEqual(ids.slice(1).sort());
    expect((await scheduled('hourly')).map((s) => s.id)).toEqual(r.taken);
  });

  it('records a failed run as a VM event and the schedule error', async () => {
    await p.client.call('stopVm', { params: { id: vm.id }, body: {} });
    await waitState(vm.id, 'stopped');
    await passNextRun(schedId);
    const r = await p.manager.schedules.runDue();
    expect(r.failed).toEqual([{ vm: vm.id, error: expect.stringContaining('stopped') }]);
    const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 500 } });
    expect(events.items.filter((e) => e.type === 'snapshot-failed')).toHaveLength(1);
    const ls = await cli(['snapshot', 'schedule', 'ls'], env);
    expect(ls.stdout).toMatch(/hourly .*sched-vm: Snapshotting VM "sched-vm" failed: it is stopped/);
    const rm = await cli(['snapshot', 'schedule', 'rm', 'hourly'], env);
    expect(rm.stdout).toMatch(/deleted schedule hourly/);
    await expectCode(() => p.client.call('getSchedule', { params: { id: schedId } }), 'SCHEDULE_NOT_FOUND');
  });
});

describe('editing schedules, and disk-only snapshots (same VM, stopped by now)', () => {
  let disky = '';
  let diskSnap = '';
  const bootId = () => sh(vm.id, 'cat /proc/sys/kernel/random/boot_id');
  const patchRaw = (id: string, body: unknown) =>
    fetch(`${p.manager.url}/v1/snapshot-schedules/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${p.manager.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('refuses a bad PATCH with the catalogue envelope, and a disabled schedule never fires', async () => {
    const s = await p.client.call('createSchedule', {
      body: {
        vm: vm.id,
        name: 'disky',
        cron: '30 * * * *',
        retention: { count: 3 },
        memory: true,
        enabled: true,
      },
    });
    disky = s.id;
    for (const body of [
      { cron: '61 * * * *' },
      { cron: '* * * *' },
      {},
      { retention: {} },
      { enabled: 'no' },
    ]) {
      const r = await patchRaw(disky, body);
      expect(r.status).toBe(400);
      const env = (await r.json()) as { error: { code: string; message: string; hint: string } };
      expect(env.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.any(String) });
      expect(env.error.hint.length).toBeGreaterThan(0);
    }
    // Nothing of it was applied.
    expect(await p.client.call('getSchedule', { params: { id: disky } })).toMatchObject({
      cron: '30 * * * *',
      enabled: true,
    });
    await expectCode(
      () => p.client.call('updateSchedule', { params: { id: 'no-such' }, body: { enabled: false } }),
      'SCHEDULE_NOT_FOUND',
      404,
    );

    const off = await cli(['snapshot', 'schedule', 'disable', 'disky'], env);
    expect(off.stdout).toMatch(/^disabled schedule disky .*next run never \(disabled\)/);
    expect(await p.client.call('getSchedule', { params: { id: disky } })).toMatchObject({
      enabled: false,
      nextRunAt: null,
    });
    // Hours pass: the schedule's time comes and goes, and it does not fire.
    ahead += 3 * 3_600_000;
    expect((await p.manager.schedules.runDue()).ran).toEqual([]);

    // Edited while disabled: it stays disabled; enabling computes the next run from now.
    const up = await cli(
      [
        '--json',
        'snapshot',
        'schedule',
        'update',
        'disky',
        '--cron',
        '15 * * * *',
        '--disk-only',
        '--keep',
        '2',
      ],
      env,
    );
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({
      cron: '15 * * * *',
      memory: false,
      retention: { count: 2 },
      enabled: false,
      nextRunAt: null,
    });
    const on = await cli(['--json', 'snapshot', 'schedule', 'enable', 'disky'], env);
    const [enabled] = JSON.parse(on.stdout) as { enabled: boolean; nextRunAt: string }[];
    expect(enabled!.enabled).toBe(true);
    const next = Date.parse(enabled!.nextRunAt);
    expect(next).toBeGreaterThan(Date.now() + ahead);
    expect(next).toBeLessThanOrEqual(Date.now() + ahead + 3_600_000);
    expect(new Date(next).getUTCMinutes()).toBe(15);
  });

  it('takes a disk-only snapshot of the VM and its volume when the schedule fires', async () => {
    await p.client.call('startVm', { params: { id: vm.id } });
    await waitState(vm.id, 'running');
    await sh(vm.id, mount(vol.serial));
    // No sync here: the snapshot itself has the guest write its page cache out.
    await sh(vm.id, 'echo root-one > /root/marker && echo vol-one > /mnt/data/marker');
    await passNextRun(disky);
    const r = await p.manager.schedules.runDue();
    expect(r).toMatchObject({ ran: [disky], failed: [] });
    expect(r.taken).toHaveLength(1);
    diskSnap = r.taken[0]!;
    const snap = await p.client.call('getSnapshot', { params: { id: diskSnap } });
    expect(snap).toMatchObject({ kind: 'disk', state: 'ready', vm: vm.id });
    expect((await p.client.call('getVm', { params: { id: vm.id } })).state).toBe('running');
    const ls = await cli(['snapshot', 'ls', '--vm', vm.id], env);
    expect(ls.stdout).toMatch(new RegExp(`${diskSnap} +sched-vm +disk +ready`));
    // A clone would need its own copies of the volumes: refused with the reason.
    await expectCode(
      () => p.client.call('cloneSnapshot', { params: { id: diskSnap }, body: { name: 'sched-clone' } }),
      'SNAPSHOT_INCOMPATIBLE',
    );
  });

  it('restores a running VM from it: stopped, disks put back, booted cold', async () => {
    const before = await bootId();
    await sh(vm.id, 'echo root-two > /root/marker && echo vol-two > /mnt/data/marker && sync');
    await p.client.call('restoreVm', { params: { id: vm.id }, body: { snapshot: diskSnap } });
    await waitState(vm.id, 'running');
    expect(await bootId()).not.toBe(before);
    await sh(vm.id, mount(vol.serial));
    expect(await sh(vm.id, 'cat /root/marker')).toBe('root-one');
    expect(await sh(vm.id, 'cat /mnt/data/marker')).toBe('vol-one');
  });

  it('restores a stopped VM from it: disks put back, the VM stays stopped', async () => {
    await sh(vm.id, 'echo root-three > /root/marker && echo vol-three > /mnt/data/marker && sync');
    await p.client.call('stopVm', { params: { id: vm.id }, body: {} });
    await waitState(vm.id, 'stopped');
    const restored = await cli(['--json', 'snapshot', 'restore', diskSnap], env);
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ state: 'stopped', desiredState: 'stopped' });
    await p.client.call('startVm', { params: { id: vm.id } });
    await waitState(vm.id, 'running');
    await sh(vm.id, mount(vol.serial));
    expect(await sh(vm.id, 'cat /root/marker')).toBe('root-one');
    expect(await sh(vm.id, 'cat /mnt/data/marker')).toBe('vol-one');
    await p.client.call('deleteSchedule', { params: { id: disky } });
  });

  it('snapshots a stopped VM disk-only and clones it into a new VM that boots cold', async () => {
    await sh(vm.id, 'echo root-four > /root/marker && sync');
    await p.client.call('stopVm', { params: { id: vm.id }, body: {} });
    await waitState(vm.id, 'stopped');
    // A clone gets no copies of the volumes: without them the snapshot clones.
    await p.client.call('detachVolume', { params: { id: vol.id } });
    const taken = await cli(
      ['--json', 'snapshot', 'create', 'sched-vm', '--disk-only', '--name', 'sched-cold'],
      env,
    );
    expect(taken.code).toBe(0);
    expect(JSON.parse(taken.stdout)).toMatchObject({ kind: 'disk', state: 'ready' });
    expect((await p.client.call('getVm', { params: { id: vm.id } })).state).toBe('stopped');
    const cloned = await cli(['--json', 'snapshot', 'restore', 'sched-cold', '--as', 'sched-clone'], env);
    if (cloned.code !== 0) {
      const vms = (await p.client.all('listVms')).map((v) => [v.name, v.state, v.stateReason]);
      throw new Error(`clone failed: ${cloned.stderr}\nVMs: ${JSON.stringify(vms)}`);
    }
    const clone = JSON.parse(cloned.stdout) as Vm;
    expect(clone).toMatchObject({ name: 'sched-clone', state: 'running' });
    expect(await sh(clone.id, 'cat /root/marker')).toBe('root-four');
    expect(await sh(clone.id, 'hostname')).toBe('sched-clone');
    await p.client.call('deleteVm', { params: { id: clone.id } });
  });
});
