import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli } from '../helpers/proc.ts';

// Templates on real VMs: written from scratch, instantiated twice, saved back from an instance.
let p: Platform;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITemplateTestKeyOnlyForTheSuite00000000000 tpl@hearth';

const sh = async (vm: string, command: string) =>
  (await p.client.call('execVm', { params: { id: vm }, body: { command } })).stdout.trim();

beforeAll(async () => {
  p = await startPlatform();
}, 120_000);
afterAll(async () => {
  await p?.dispose();
});

describe('templates (real VMs)', () => {
  let vms: Vm[];

  it('instantiates a template into running VMs with its resources, user, env and volumes', async () => {
    const t = await p.client.call('createTemplate', {
      body: {
        name: 'worker',
        description: 'batch worker',
        spec: {
          memoryMib: 160,
          user: 'tpl',
          sshKeys: [KEY],
          env: { ROLE: 'worker' },
          volumes: [{ size: '32mb' }],
        },
      },
    });
    expect(t.spec).toMatchObject({ vcpus: 1, memoryMib: 160, network: 'default' });
    const r = await p.client.call('instantiateTemplate', {
      params: { id: 'worker' },
      body: { count: 2, namePrefix: 'w', password: 'pw' },
    });
    expect(r.items.map((v) => v.name)).toEqual(['w-1', 'w-2']);
    vms = await Promise.all(
      r.items.map((v) =>
        p.client.call('waitVm', { params: { id: v.id }, query: { state: 'running', timeout: 120 } }),
      ),
    );
    for (const vm of vms) {
      expect(vm).toMatchObject({ memoryMib: 160, users: ['tpl'], labels: { 'hearth.template': 'worker' } });
      expect(await sh(vm.id, 'cat /home/tpl/.ssh/authorized_keys')).toContain(KEY);
      expect(await sh(vm.id, 'echo $ROLE')).toBe('worker');
      const [vol] = (await p.client.call('listVolumes', { query: { vm: vm.id } })).items;
      expect(vol).toMatchObject({ name: `${vm.name}-vol1`, sizeMib: 32 });
      expect(await sh(vm.id, 'cat /sys/block/vdb/serial /sys/block/vdc/serial 2>/dev/null')).toContain(
        vol!.serial,
      );
    }
  });

  it("saves an instance's configuration as a new template", async () => {
    const saved = await p.client.call('saveVmAsTemplate', {
      params: { id: 'w-1' },
      body: { name: 'w-saved' },
    });
    expect(saved.spec).toMatchObject({
      memoryMib: 160,
      user: 'tpl',
      sshKeys: [KEY],
      env: { ROLE: 'worker' },
      image: 'base',
      volumes: [{ size: '32mib', format: 'ext4' }],
    });
  });

  it('is all or nothing: a failed instantiate leaves no VM or volume behind', async () => {
    // x-2 exists, so the second instance fails after the first one (and its volume) were made.
    await p.client.call('createVm', { body: { name: 'x-2', start: false } });
    const before = (await p.client.call('listVolumes', { query: {} })).items.length;
    const e = (await p.client
      .call('instantiateTemplate', { params: { id: 'worker' }, body: { count: 2, namePrefix: 'x' } })
      .catch((x: unknown) => x)) as HearthError;
    expect(e).toBeInstanceOf(HearthError);
    expect(e.code).toBe('VM_NAME_TAKEN');
    expect((await p.client.call('listVolumes', { query: {} })).items.length).toBe(before);
    expect((await p.client.call('listVms', { query: {} })).items.map((v) => v.name).sort()).toEqual([
      'w-1',
      'w-2',
      'x-2',
    ]);
  });

  it('works from the CLI', async () => {
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const ls = await cli(['template', 'ls'], env);
    expect(ls.stdout).toMatch(/worker\s+tpl_\w+\s+1\s+160MiB\s+base\s+tpl\s+32mb\s+batch worker/);
    const rm = await cli(['template', 'rm', 'w-saved'], env);
    expect(rm.stdout).toContain('deleted template w-saved');
    const missing = await cli(['template', 'rm', 'w-saved'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('TEMPLATE_NOT_FOUND');
  });
});
