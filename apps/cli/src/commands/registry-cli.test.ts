import { describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// `hearth registry login|ls|rm` as a user runs them (its own process): the password goes in on
// standard input only, and no answer prints it.
describe('hearth registry verbs', () => {
  const api = useApiPlatform({ host: null });
  const hearth = (args: string[], input?: string) =>
    cli(args, { HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV }, input);

  it('logs in from stdin, lists user names only, removes', async () => {
    const login = await hearth(
      ['registry', 'login', 'Registry.Example:5000', '-u', 'ci', '--password-stdin'],
      'cli-secret-pw\n',
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('credentials stored for registry.example:5000 (user ci, project default)');
    const ls = await hearth(['registry', 'ls']);
    expect(ls.stdout).toMatch(/^REGISTRY\s+USER\s+UPDATED\nregistry\.example:5000\s+ci\s+/);
    const json = await hearth(['--json', 'registry', 'ls']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ registry: 'registry.example:5000' })]);
    for (const out of [login.stdout, ls.stdout, json.stdout]) expect(out).not.toContain('cli-secret-pw');
    expect((await hearth(['registry', 'login', 'x.example', '-u', 'ci', '--password-stdin'], '')).code).toBe(
      2,
    );
    expect((await hearth(['registry', 'rm', 'registry.example:5000'])).code).toBe(0);
    const gone = await hearth(['registry', 'rm', 'registry.example:5000']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('REGISTRY_CREDENTIAL_NOT_FOUND');
  }, 120_000);
});
