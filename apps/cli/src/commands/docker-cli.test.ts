import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// The docker verbs and `hearth compose` as a user runs them (the CLI's own process) against a
// manager whose one host answers nothing: what needs no VM to run is checked here; a container
// running in a real VM is test/e2e's.
describe('hearth docker verbs and compose', () => {
  const api = useApiPlatform();
  const env = () => ({ HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV });
  const hearth = (args: string[], extra: Record<string, string> = {}) => cli(args, { ...env(), ...extra });

  it('refuses malformed run flags before sending anything, with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['run', '-d', '-p', '80', 'nginx'],
        /-p 80 must look like HOSTPORT:CONTAINERPORT.*host port is required/,
      ],
      [['run', '--memory', '12q', 'nginx'], /--memory 12q is not a size/],
      [
        ['run', '--health-cmd', 'true', '--health-interval', '10', 'nginx'],
        /--health-interval 10 is not a duration/,
      ],
      [['run', '-v', './html:/usr/share/nginx/html', 'nginx'], /bind mounts of host paths are not supported/],
      [['run', '-d', '--rm', 'nginx'], /--rm works with a container run in the foreground only/],
    ];
    for (const [args, re] of cases) {
      const r = await hearth(args);
      expect(r.stderr).toMatch(re);
      expect(r.code).toBe(2);
    }
  });

  it('refuses a compose file with unsupported keys, naming each with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-cli-'));
    writeFileSync(
      join(dir, 'compose.yaml'),
      'services:\n  web:\n    image: nginx\n    build: .\n    depends_on: [db]\n  db:\n    image: pg\n    privileged: true\nconfigs: {}\n',
    );
    const r = await hearth(['compose', '-f', join(dir, 'compose.yaml'), 'up', '-d']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('services.web.build: not supported by hearth compose');
    expect(r.stderr).toContain('services.db.privileged: not supported by hearth compose');
    expect(r.stderr).toContain('configs: not supported by hearth compose');
    writeFileSync(
      join(dir, 'compose.yaml'),
      'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n',
    );
    const cycle = await hearth(['compose', '-f', join(dir, 'compose.yaml'), 'down']);
    expect(cycle.stderr).toContain('services.a.depends_on: dependency cycle a → b → a.');
    expect(cycle.code).toBe(2);
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web: {image: x}\n');
    const unknown = await hearth(['compose', '-f', join(dir, 'compose.yaml'), 'up', '-d', 'nope']);
    expect(unknown.stderr).toMatch(/No such service in .*compose.yaml: nope\./);
    expect(unknown.code).toBe(2);
  });

  it('tries every name of a shared verb, reporting each failure; a name no container has is a VM', async () => {
    const r = await hearth(['start', 'ghost-one', 'ghost-two']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: .*ghost-one[\s\S]*code: VM_NOT_FOUND[\s\S]*error: .*ghost-two[\s\S]*code: VM_NOT_FOUND/,
    );
  });
});
