import { describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// The CLI's user and project verbs against a manager without agents (nothing here boots a VM).
describe('hearth user and project verbs', () => {
  const api = useApiPlatform();
  const env = () => ({
    HEARTH_URL: api.p.manager.url,
    HEARTH_TOKEN: api.p.manager.adminToken,
    ...CLI_ENV,
  });
  const hearth = (args: string[], input?: string) => cli(args, env(), input);

  it('creates a user with a password from stdin, disables it and lists it', async () => {
    const made = await hearth(['user', 'create', 'cli-ada', '--password-stdin'], 'a long password\n');
    expect(made.stderr).toBe('');
    expect(made.stdout).toMatch(/^created: user cli-ada \(usr_/);
    const row = await api.p.manager.stores.users.require('cli-ada');
    // The manager's users API test checks the hash itself; here: it came through, hashed.
    expect(row.password_hash).toMatch(/^scrypt\$/);

    expect((await hearth(['user', 'disable', 'cli-ada'])).stdout).toMatch(
      /^disabled: user cli-ada .*, disabled/,
    );
    const ls = await hearth(['--json', 'user', 'ls']);
    expect(JSON.parse(ls.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'cli-ada', disabled: true })]),
    );
  });

  it('creates a project with quotas, sets more, manages members and refuses a bad size', async () => {
    await api.p.manager.stores.users.create({ name: 'cli-bob' });
    const made = await hearth(['project', 'create', 'cli-prj', '--vms', '10', '--memory', '8g']);
    expect(made.stderr).toBe('');
    const set = await hearth(['project', 'quota', 'set', 'cli-prj', '--disk', '100g', '--vms', 'none']);
    expect(set.stdout.trim()).toBe('quotas of cli-prj: memoryMib=8192MiB, diskMib=102400MiB');

    const add = await hearth(['project', 'member', 'add', 'cli-prj', 'cli-bob', 'operator']);
    expect(add.stdout.trim()).toBe('cli-bob is operator in cli-prj');
    const members = JSON.parse((await hearth(['--json', 'project', 'members', 'cli-prj'])).stdout);
    expect(members).toMatchObject([{ userName: 'cli-bob', role: 'operator' }]);
    const show = await hearth(['project', 'show', 'cli-prj']);
    expect(show.stdout).toMatch(/memoryMib\s+0MiB\s+8192MiB/);

    const bad = await hearth(['project', 'quota', 'set', 'cli-prj', '--memory', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--memory lots/);
    const last = await hearth(['project', 'member', 'rm', 'cli-prj', 'cli-bob']);
    expect(last.code).toBe(0);
    expect((await hearth(['project', 'rm', 'cli-prj'])).code).toBe(0);
  });
});
