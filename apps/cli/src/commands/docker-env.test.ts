import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';
import { DOCKER_BIN } from '../../../../test/helpers/docker-cli.ts';
import { execFile } from 'node:child_process';

// `hearth docker env` as a user runs it (its own process), then Debian's docker client with what
// it printed, against the manager's Docker API socket.
describe('hearth docker env', () => {
  const api = useApiPlatform({ host: null });
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('writes a DOCKER_CONFIG with the token header and points DOCKER_HOST at the local socket', async () => {
    const home = await mkdtemp(join(tmpdir(), 'hearth-docker-env-'));
    dirs.push(home);
    const r = await cli(['docker', 'env'], {
      ...CLI_ENV,
      HEARTH_URL: api.p.manager.url,
      HEARTH_TOKEN: api.p.manager.adminToken,
      HEARTH_DATA_DIR: join(api.p.dir, 'manager'),
      XDG_CONFIG_HOME: home,
    });
    expect(r.code, r.stderr).toBe(0);
    const vars = Object.fromEntries(
      [...r.stdout.matchAll(/^export (\w+)=(".*")$/gm)].map((m) => [m[1]!, JSON.parse(m[2]!) as string]),
    );
    expect(vars.DOCKER_HOST).toBe(api.p.manager.docker[0]);
    expect(vars.DOCKER_CONFIG).toBe(join(home, 'hearth', 'docker'));
    const file = join(vars.DOCKER_CONFIG!, 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(file, 'utf8')) as { HttpHeaders: Record<string, string> };
    expect(written.HttpHeaders.Authorization).toBe(`Bearer ${api.p.manager.adminToken}`);
    const ps = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        DOCKER_BIN,
        ['ps', '-a', '--format', '{{.Names}}'],
        { env: { PATH: process.env.PATH ?? '', HOME: home, ...vars } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
      ),
    );
    expect(ps.code, ps.out).toBe(0);
    expect(ps.out.trim()).toBe('');
  });
});
