import { describe, expect, it } from 'vitest';
import type { Host } from '@hearth/contract';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// The placement verbs as a user runs them (the real CLI in its own process) against a manager
// whose one host answers nothing: labels and ratios are set, listed, and a create whose selector
// no host meets is refused with the reason. No VM boots here.
describe('hearth host label/update and vm create --host-selector', () => {
  const api = useApiPlatform({ host: 'cli-host' });
  const hearth = (args: string[]) =>
    cli(args, { HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV });

  it('labels a host, changes its ratios, and shows both', async () => {
    const set = await hearth(['host', 'label', 'cli-host', 'zone=eu', 'disk=ssd']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/labels disk=ssd,zone=eu; overcommit cpu default, memory default/);
    const removed = await hearth(['host', 'label', 'cli-host', 'disk-']);
    expect(removed.stdout).toMatch(/labels zone=eu;/);
    const upd = await hearth([
      'host',
      'update',
      'cli-host',
      '--cpu-overcommit',
      '4',
      '--memory-overcommit',
      '1.5',
    ]);
    expect(upd.code, upd.stderr).toBe(0);
    expect(upd.stdout).toMatch(/overcommit cpu 4, memory 1.5/);
    const ls = await hearth(['host', 'ls']);
    expect(ls.stdout).toMatch(/LABELS/);
    expect(ls.stdout).toMatch(/cli-host .* zone=eu /);
    const json = JSON.parse((await hearth(['--json', 'host', 'ls'])).stdout) as Host[];
    expect(json[0]).toMatchObject({ labels: { zone: 'eu' }, cpuOvercommit: 4, memoryOvercommit: 1.5 });
    const back = await hearth(['host', 'update', 'cli-host', '--cpu-overcommit', 'default']);
    expect(back.stdout).toMatch(/overcommit cpu default, memory 1.5/);
    const bad = await hearth(['host', 'label', 'cli-host', 'novalue']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/novalue must look like key=value/);
  });

  it('creates where the selector matches and says which constraint no host met otherwise', async () => {
    const ok = await hearth([
      '--json',
      'create',
      '--name',
      'sel-ok',
      '--no-start',
      '--host-selector',
      'zone=eu',
      '--anti-affinity',
      'db',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ hostSelector: { zone: 'eu' }, antiAffinityGroup: 'db' });
    const refused = await hearth(['create', '--name', 'sel-no', '--no-start', '--host-selector', 'zone=us']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/no host met: host selector zone=us \(cli-host has zone=eu\)/);
    expect(refused.stderr).toMatch(/hearth host label/);
    const group = await hearth(['create', '--name', 'db-2', '--no-start', '--anti-affinity', 'db']);
    expect(group.code).not.toBe(0);
    expect(group.stderr).toMatch(/anti-affinity group db \(cli-host holds sel-ok\)/);
  });
});
