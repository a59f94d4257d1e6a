import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { dockerCli, type DockerCli } from '../../../../test/helpers/docker-cli.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../../../../test/helpers/oci.ts';

/**
 * The Docker Engine API driven by Debian's own docker client against an in-process manager
 * (no agent: a fake host), on the manager's Unix socket and its TCP listener.
 */
describe('docker client on the Docker API', () => {
  let registry: LocalRegistry;
  let ref = '';
  const h = useApiPlatform({
    host: 'fake',
    platform: { manager: { importAllow: ['127.0.0.0/8'], docker: { listen: '127.0.0.1:0' } } },
  });
  let docker: DockerCli;
  let anonymous: DockerCli;

  beforeAll(async () => {
    registry = await startRegistry();
    ref = await pushTestImage(registry.host, 'dockerapi/hello', 'v1');
    docker = await dockerCli(h.p.manager.docker[0]!, h.p.manager.adminToken);
    anonymous = await dockerCli(h.p.manager.docker[0]!, null);
  }, 120_000);
  afterAll(async () => {
    await docker?.dispose();
    await anonymous?.dispose();
    await registry?.dispose();
  });

  it('listens on a 0600 Unix socket and on TCP, and speaks API 1.41', async () => {
    expect(h.p.manager.docker[0]).toMatch(/^unix:\/\/.*docker\.sock$/);
    const { statSync } = await import('node:fs');
    expect(statSync(h.p.manager.docker[0]!.slice('unix://'.length)).mode & 0o777).toBe(0o600);
    const version = JSON.parse(await docker.ok('version', '--format', '{{json .Server}}')) as {
      ApiVersion: string;
      Platform: { Name: string };
    };
    expect(version.ApiVersion).toBe('1.41');
    expect(version.Platform.Name).toContain('Hearth');
    const overTcp = await dockerCli(h.p.manager.docker[1]!, h.p.manager.adminToken);
    try {
      expect(h.p.manager.docker[1]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect((await overTcp.ok('version', '--format', '{{.Server.APIVersion}}')).trim()).toBe('1.41');
    } finally {
      await overTcp.dispose();
    }
  });

  it('refuses a client without a token in Docker’s error shape, with the way to get one', async () => {
    const r = await anonymous.run('ps');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error response from daemon: No credentials.');
    expect(r.stderr).toContain('hearth docker env');
    const bad = await dockerCli(h.p.manager.docker[0]!, 'not-a-token');
    try {
      const r2 = await bad.run('images');
      expect(r2.code).not.toBe(0);
      expect(r2.stderr).toContain('hearth docker env');
    } finally {
      await bad.dispose();
    }
  });

  it('answers an endpoint Hearth does not serve with a 404 naming it', async () => {
    const r = await docker.run('network', 'ls');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("GET /networks is not supported by Hearth's Docker API");
  });

  it('pulls through the OCI import, then lists and inspects the image', async () => {
    const first = await docker.ok('pull', ref);
    expect(first).toContain(`Status: Downloaded newer image for ${ref}`);
    expect(first).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    const again = await docker.ok('pull', ref);
    expect(again).toContain(`Status: Image is up to date for ${ref}`);
    const rows = (await docker.ok('images', '--format', '{{.Repository}} {{.Tag}} {{.ID}}'))
      .trim()
      .split('\n');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^${registry.host}/dockerapi/hello v1 [0-9a-f]{12}$`));
    const img = JSON.parse(await docker.ok('image', 'inspect', ref)) as Array<{
      RepoTags: string[];
      Config: {
        Env: string[];
        Entrypoint: string[];
        WorkingDir: string;
        ExposedPorts: Record<string, object>;
      };
    }>;
    expect(img[0]!.RepoTags).toEqual([ref]);
    expect(img[0]!.Config.Env).toContain('GREETING=hello from the image');
    expect(img[0]!.Config.Entrypoint).toEqual(['/usr/local/bin/hello.sh']);
    expect(img[0]!.Config.WorkingDir).toBe('/srv');
    expect(Object.keys(img[0]!.Config.ExposedPorts)).toEqual(['8080/tcp']);
  });

  it('reports a pull that fails as the client’s error', async () => {
    const r = await docker.run('pull', `${registry.host}/dockerapi/missing:v1`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/IMAGE_SOURCE_NOT_FOUND|not found/i);
    const none = await docker.run('image', 'inspect', `${registry.host}/dockerapi/missing:v1`);
    expect(none.stderr).toContain(`No such image: ${registry.host}/dockerapi/missing:v1`);
  });

  it('refuses create options a microVM cannot honour, by name', async () => {
    for (const [args, needle] of [
      [['-v', '/etc:/host'], 'Bind mount /etc'],
      [['--privileged'], '--privileged'],
      [['--network', 'host'], '--network host'],
      [['-p', '8080'], 'without a host port'],
      [['-t'], 'A TTY for the app'],
    ] as const) {
      const r = await docker.run('create', ...args, ref);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toContain(needle);
    }
  });

  // The fake host boots nothing: these stop short of start (test/e2e/docker-cli.test.ts runs one).
  it('creates, lists, filters and inspects a container as docker create/ps/inspect show them', async () => {
    const id = (
      await docker.ok('create', '--name', 'web', '-p', '8080:80', '-e', 'A=1', '-l', 'tier=web', ref)
    ).trim();
    expect(id).toMatch(/^ctr_/);
    const taken = await docker.run('create', '--name', 'web', ref);
    expect(taken.stderr).toContain('CONTAINER_NAME_TAKEN');
    expect((await docker.ok('ps', '--format', '{{.Names}}')).trim()).toBe('');
    const rows = await docker.ok(
      'ps',
      '-a',
      '--filter',
      'label=tier=web',
      '--format',
      '{{.ID}}|{{.Names}}|{{.Status}}|{{.Ports}}|{{.Image}}',
    );
    expect(rows.trim()).toBe(`${id.slice(0, 12)}|web|Created|0.0.0.0:8080->80/tcp|${ref}`);
    expect((await docker.ok('ps', '-a', '--filter', 'label=tier=db', '-q')).trim()).toBe('');
    const [c] = JSON.parse(await docker.ok('inspect', 'web')) as Array<{
      Id: string;
      Name: string;
      Path: string;
      Args: string[];
      State: { Status: string; Running: boolean };
      Config: { Env: string[]; Labels: Record<string, string>; WorkingDir: string };
      HostConfig: { PortBindings: Record<string, Array<{ HostPort: string }>> };
    }>;
    expect(c!.Id).toBe(id);
    expect(c!.Name).toBe('/web');
    expect([c!.Path, ...c!.Args]).toEqual(['/usr/local/bin/hello.sh', 'from-cmd']);
    expect(c!.State).toMatchObject({ Status: 'created', Running: false });
    expect(c!.Config.Env).toEqual(expect.arrayContaining(['GREETING=hello from the image', 'A=1']));
    expect(c!.Config.Labels).toEqual({ tier: 'web' });
    expect(c!.Config.WorkingDir).toBe('/srv');
    expect(c!.HostConfig.PortBindings['80/tcp']![0]!.HostPort).toBe('8080');
  });

  it('answers verbs on a missing or stopped container as Docker does', async () => {
    const missing = await docker.run('rm', 'nope');
    expect(missing.stderr).toContain('No such container: nope');
    const inspect = await docker.run('inspect', '--type', 'container', 'nope');
    expect(inspect.stderr).toContain('No such container: nope');
    const kill = await docker.run('kill', 'web');
    expect(kill.stderr).toContain('is not running');
    const exec = await docker.run('exec', 'web', 'true');
    expect(exec.stderr).toContain('is not running');
  });
});
