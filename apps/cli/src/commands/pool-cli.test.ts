import { describe, expect, it } from 'vitest';
import type { BootProfile, Pool, Vm } from '@hearth/contract';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { makeUser } from '../../../../test/helpers/identity.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// The pool verbs and `inspect`'s boot profile, run as a user runs the CLI (its own process),
// against a manager whose one host answers nothing: pools are created, listed, resized and
// deleted, but no VM boots here (test/e2e/web-pools.test.ts fills a pool with a real VM).
describe('hearth pool verbs and inspect', () => {
  const api = useApiPlatform();
  const env = (token = api.p.manager.adminToken) => ({
    HEARTH_URL: api.p.manager.url,
    HEARTH_TOKEN: token,
    ...CLI_ENV,
  });
  const hearth = (args: string[], token?: string) => cli(args, env(token));

  // First: creating a VM needs the fake host ready, and it goes offline without heartbeats.
  it("prints a VM's boot profile step by step, and the API object with --json", async () => {
    const vm = (await api.p.client.call('createVm', { body: { name: 'cli-booted', start: false } })) as Vm;
    const before = await hearth(['inspect', 'cli-booted']);
    expect(before.stdout).toMatch(/\nboot\s+not recorded yet$/m);
    // A profile as the manager records it when a VM becomes running (no VM boots in this file).
    const profile: BootProfile = {
      source: 'pool',
      pool: 'web',
      steps: [
        { name: 'take', ms: 1.4 },
        { name: 'personalize', ms: 42 },
      ],
      totalMs: 48,
      at: new Date().toISOString(),
    };
    await api.p.manager.db.query('UPDATE vms SET boot_profile = $1 WHERE id = $2', [
      JSON.stringify(profile),
      vm.id,
    ]);
    const shown = await hearth(['inspect', 'cli-booted']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^name\s+cli-booted \(/);
    expect(shown.stdout).toMatch(/\nboot\s+from warm pool web, 48 ms total, at /);
    expect(shown.stdout).toMatch(/\n\s+take\s+1\.4 ms\s+#+\n/);
    expect(shown.stdout).toMatch(/\n\s+personalize\s+42 ms\s+#{20,}\n/);
    // What no step accounts for: 48 - 43.4 ms.
    expect(shown.stdout).toMatch(/\n\s+other\s+5 ms\s+#+\n?$/);
    const json = JSON.parse((await hearth(['--json', 'inspect', 'cli-booted'])).stdout) as Vm;
    expect(json.boot).toEqual(profile);
    await api.p.client.call('deleteVm', { params: { id: vm.id } });
  });

  it('creates, lists, shows, resizes and deletes a pool', async () => {
    const made = await hearth([
      'pool',
      'create',
      'cli-pool',
      '--size',
      '0',
      '--memory',
      '96',
      '--vcpus',
      '1',
    ]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^pool cli-pool \(\S+\) created: booted, filling to 0 in the background/);
    const got = (await api.p.client.call('getPool', { params: { id: 'cli-pool' } })) as Pool;
    expect(got).toMatchObject({ mode: 'booted', size: 0, spec: { memoryMib: 96, vcpus: 1 } });

    const ls = await hearth(['pool', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^NAME\s+MODE\s+SIZE\s+READY\s+WARMING\s+HIT RATE\s+SPEC\s+LAST ERROR/);
    expect(ls.stdout).toMatch(/\ncli-pool\s+booted\s+0\s+0\s+0\s+-\s+base, 1 vCPU, 96MiB/);
    const json = JSON.parse((await hearth(['--json', 'pool', 'ls'])).stdout) as Pool[];
    expect(json.map((p) => p.name)).toContain('cli-pool');

    const show = await hearth(['pool', 'show', 'cli-pool']);
    expect(show.stdout).toMatch(/^name\s+cli-pool \(/);
    expect(show.stdout).toMatch(/\nhit rate\s+-\n/);
    expect(show.stdout).toMatch(/\nspec\s+base, 1 vCPU, 96MiB\n/);

    const resized = await hearth(['pool', 'resize', 'cli-pool', '3']);
    expect(resized.stdout).toMatch(/^pool cli-pool: size 3 \(/);
    expect((await api.p.client.call('getPool', { params: { id: 'cli-pool' } })).size).toBe(3);
    // Back to 0 before the delete: nothing is left warming against a host that answers nothing.
    expect((await hearth(['pool', 'resize', 'cli-pool', '0'])).code).toBe(0);

    const rm = await hearth(['pool', 'rm', 'cli-pool']);
    expect(rm.stdout.trim()).toMatch(/^deleted pool cli-pool \(/);
    const gone = await hearth(['pool', 'show', 'cli-pool']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('code: POOL_NOT_FOUND');
    expect(gone.stderr).toContain('hearth pool ls');
  });

  it('refuses bad input before sending it, and a taken name with the API code', async () => {
    const mode = await hearth(['pool', 'create', 'cli-bad', '--mode', 'frozen']);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toContain('--mode frozen is unknown; use booted or snapshot.');
    const size = await hearth(['pool', 'resize', 'whatever', 'many']);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('size many is not a whole number.');
    const big = await hearth(['pool', 'create', 'cli-big', '--size', '65']);
    expect(big.code).toBe(1);
    expect(big.stderr).toContain('code: VALIDATION_FAILED');
    expect((await hearth(['pool', 'create', 'cli-twice', '--size', '0'])).code).toBe(0);
    const twice = await hearth(['pool', 'create', 'cli-twice', '--size', '0']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('code: POOL_NAME_TAKEN');
    expect((await hearth(['pool', 'rm', 'cli-twice'])).code).toBe(0);
  });

  it('lets a viewer list pools but not create one', async () => {
    const viewer = await makeUser(api.p.manager.stores, {
      name: 'pool-viewer',
      roles: { default: 'viewer' },
    });
    expect((await hearth(['pool', 'ls'], viewer.token)).code).toBe(0);
    const refused = await hearth(['pool', 'create', 'cli-v', '--size', '0'], viewer.token);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('code: ROLE_REQUIRED');
  });
});
