import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppStatus, Container } from '@hearth/contract';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { fakeVmAgent } from '../../../../test/helpers/fake-vm-agent.ts';
import { CLI_ENV, cli, runHearth } from '../../../../test/helpers/proc.ts';

/** An imported OCI image as the import records it (no file: the fake agent boots nothing). */
const OCI_META = {
  init: 'hearth-guest',
  ociDigest: 'sha256:' + 'c'.repeat(64),
  oci: {
    ref: 'registry.test:5000/tools/busybox:1',
    digest: 'sha256:' + 'c'.repeat(64),
    entrypoint: ['/bin/sh'],
    cmd: ['-c', 'sleep 1000'],
    env: ['PATH=/bin'],
    workdir: '/srv',
    user: '',
  },
};

// The docker verbs and compose as a user types them (the CLI's own process), against a manager
// whose host agent answers every VM verb without booting anything; what the guest agent would
// report about the app (health, exit) is written where the manager keeps it.
describe('hearth run, ps, stop/start/rm, secrets and compose against the container API', () => {
  const api = useApiPlatform({ host: null, platform: { manager: { containerSweepMs: 3_600_000 } } });
  const agent = fakeVmAgent();
  const env = () => ({ HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV });
  const hearth = (args: string[], input?: string) => cli(args, env(), input);
  const get = async (ref: string) =>
    (await api.p.client.call('getContainer', { params: { id: ref } })) as Container;
  const reportApp = async (vmId: string, app: Partial<AppStatus>) => {
    const full: AppStatus = {
      state: 'running',
      pid: 10,
      exitCode: null,
      signal: null,
      reason: null,
      restarts: 0,
      health: null,
      healthLog: [],
      startedAt: new Date().toISOString(),
      finishedAt: null,
      ...app,
    };
    await api.p.manager.db.query('UPDATE vms SET app = $1::jsonb WHERE id = $2', [
      JSON.stringify(full),
      vmId,
    ]);
    await api.p.manager.containers.sweep();
  };

  beforeAll(async () => {
    await agent.register(api.p.manager, 'cli-ctr-host');
    await api.p.manager.stores.images.insert({
      name: 'busybox-imported',
      kind: 'rootfs',
      format: 'ext4',
      arch: 'x86_64',
      sizeBytes: 2 ** 20,
      sha256: 'd'.repeat(64),
      source: 'oci:registry.test:5000/tools/busybox:1',
      path: '/nonexistent/busybox.ext4',
      builtin: false,
      meta: OCI_META,
      project: 'default',
    });
  });
  afterAll(async () => {
    await agent.close();
  });

  it('run -d creates the container from Docker spellings and prints its id once it runs', async () => {
    const r = await hearth([
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      '18081:80',
      '-e',
      'MODE=prod',
      '--memory',
      '256m',
      '--cpus',
      '0.5',
      '--health-cmd',
      'wget -q -O- localhost',
      '--health-interval',
      '1m30s',
      '--restart',
      'on-failure:2',
      '-v',
      'webdata:/data:ro',
      '--label',
      'tier=front',
      'busybox-imported',
      'httpd',
      '-f',
      '-p',
      '80',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const web = await get('web');
    expect(r.stdout).toBe(`${web.id}\n`);
    expect(web).toMatchObject({
      state: 'running',
      command: ['httpd', '-f', '-p', '80'],
      env: { MODE: 'prod' },
      memoryMib: 256,
      vcpus: 1,
      restart: 'on-failure:2',
      ports: [{ host: 18081, container: 80, protocol: 'tcp' }],
      volumes: [{ source: 'webdata', target: '/data', readOnly: true }],
      labels: { tier: 'front' },
      healthcheck: { cmd: 'wget -q -O- localhost', interval: '90s' },
    });
  });

  it('ps shows Docker columns and the health; inspect shows the container, --json its object', async () => {
    const web = await get('web');
    await reportApp(web.vm!, { state: 'running', health: 'healthy' });
    const ps = await hearth(['ps']);
    expect(ps.code).toBe(0);
    const [header, ...rows] = ps.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    const row = rows.find((l) => l.endsWith(' web'));
    expect(row).toMatch(
      /busybox-imported\s+"httpd -f -p 80"\s+.* ago\s+Up .* \(healthy\)\s+0\.0\.0\.0:18081->80\/tcp\s+web$/,
    );
    expect((await hearth(['ps', '-q'])).stdout).toBe(`${web.id}\n`);
    expect((await hearth(['ps', '--filter', 'label=tier=back'])).stdout.trim().split('\n')).toHaveLength(1);
    const text = await hearth(['inspect', 'web']);
    expect(text.stdout).toMatch(/^name\s+web \(/);
    expect(text.stdout).toMatch(/\nhealth\s+healthy\n/);
    const json = JSON.parse((await hearth(['--json', 'inspect', 'web'])).stdout) as Container;
    expect(json.id).toBe(web.id);
  });

  it('top, stats and kill reach the container through its VM', async () => {
    const stats = await hearth(['stats', '--no-stream', 'web']);
    expect(stats.stderr).toBe('');
    expect(stats.stdout).toMatch(
      /^NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n/,
    );
    expect(stats.stdout).toMatch(/\nweb\s+12\.50%\s/);
    const top = await hearth(['top', 'web']);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/^PID\s+RUNNING FOR\s+COMMAND/);
    const kill = await hearth(['kill', '-s', 'sighup', 'web']);
    expect(kill.code, kill.stderr).toBe(0);
    expect(kill.stdout).toBe('web\n');
  });

  it('stop, start and rm act on the container; rm of a running one needs -f', async () => {
    const stop = await hearth(['stop', 'web']);
    expect(stop.stderr).toBe('');
    expect(stop.stdout).toBe('web\n');
    expect((await get('web')).state).toBe('exited');
    expect((await hearth(['ps'])).stdout).not.toMatch(/ web$/m);
    expect((await hearth(['ps', '-a'])).stdout).toMatch(/Exited \(\d+\) .* ago.* web$/m);
    const start = await hearth(['start', 'web']);
    expect(start.stdout).toBe('web\n');
    expect((await get('web')).state).toBe('running');
    const refused = await hearth(['rm', 'web']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('code: CONTAINER_INVALID_STATE');
    const rm = await hearth(['rm', '-f', 'web']);
    expect(rm.stdout).toBe('web\n');
    expect((await hearth(['ps', '-a', '-q'])).stdout).toBe('');
  });

  it('run in the foreground waits for the exit, exits with its code, and --rm removes it', async () => {
    const run = runHearth(['run', '--rm', '--name', 'job', 'busybox-imported', 'false'], env());
    const exited = new Promise<number | null>((r) => run.child.once('exit', (code) => r(code)));
    await run.waitFor(/job \(ctr_\w+\) is running; its output follows/);
    const job = await get('job');
    await reportApp(job.vm!, {
      state: 'exited',
      exitCode: 3,
      finishedAt: new Date().toISOString(),
    });
    expect(await exited, run.output()).toBe(3);
    // --rm: removed once it exited.
    expect((await hearth(['ps', '-a', '-q'])).stdout).toBe('');
  });

  it('keeps secrets write-only and hands them to run --secret-env', async () => {
    const set = await hearth(['secret', 'set', 'db-pass', '--from-stdin'], 's3cret\n');
    expect(set.stdout).toBe('secret db-pass set\n');
    expect((await hearth(['secret', 'ls'])).stdout).toMatch(/^db-pass\s/m);
    const r = await hearth([
      'run',
      '-d',
      '--name',
      'db',
      '--secret-env',
      'PGPASSWORD=db-pass',
      'busybox-imported',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await get('db')).secretEnv).toEqual({ PGPASSWORD: 'db-pass' });
    expect((await hearth(['rm', '-f', 'db'])).code).toBe(0);
    expect((await hearth(['secret', 'rm', 'db-pass'])).stdout).toBe('secret db-pass deleted\n');
  });

  it('compose up starts db, waits until it is healthy, then web; down removes all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-cli-'));
    writeFileSync(
      join(dir, 'compose.yaml'),
      [
        'name: shop',
        'services:',
        '  web:',
        '    image: busybox-imported',
        '    command: httpd -f',
        '    environment: {DB_HOST: db}',
        '    depends_on: {db: {condition: service_healthy}}',
        '  db:',
        '    image: busybox-imported',
        '    volumes: [pgdata:/var/lib/db]',
        '    healthcheck: {test: [CMD, "true"], interval: 1s}',
        'volumes:',
        '  pgdata:',
      ].join('\n'),
    );
    const up = runHearth(['compose', '-f', join(dir, 'compose.yaml'), 'up', '-d'], env());
    const exited = new Promise<number | null>((r) => up.child.once('exit', (code) => r(code)));
    await up.waitFor('Container shop-db-1 waiting to be healthy');
    expect(up.output()).not.toContain('shop-web-1');
    await reportApp((await get('shop-db-1')).vm!, { state: 'running', health: 'healthy' });
    expect(await exited, up.output()).toBe(0);
    const web = await get('shop-web-1');
    expect(web).toMatchObject({ state: 'running', network: expect.any(String), networkAliases: ['web'] });
    expect((await get('shop-db-1')).volumes).toEqual([
      { source: 'shop-pgdata', target: '/var/lib/db', readOnly: false },
    ]);
    const net = await api.p.client.call('getNetwork', { params: { id: 'shop-default' } });
    expect(net.name).toBe('shop-default');
    const ps = await hearth(['compose', '-f', join(dir, 'compose.yaml'), 'ps']);
    expect(ps.stdout).toMatch(/^shop-web-1\s.*\sweb\s+Up /m);
    expect(ps.stdout).toMatch(/^shop-db-1\s.*\sdb\s+Up .*\(healthy\)/m);
    // A second up keeps what did not change.
    const again = await hearth(['compose', '-f', join(dir, 'compose.yaml'), 'up', '-d']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('Container shop-web-1 is running');
    expect(again.stderr).not.toContain('created');
    expect((await get('shop-web-1')).id).toBe(web.id);
    const down = await hearth(['compose', '-f', join(dir, 'compose.yaml'), 'down', '-v']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr.indexOf('Container shop-web-1 removed')).toBeLessThan(
      down.stderr.indexOf('Container shop-db-1 removed'),
    );
    expect(down.stderr).toContain('Network shop-default removed');
    expect(down.stderr).toContain('Volume shop-pgdata removed');
    expect((await hearth(['ps', '-a', '-q'])).stdout).toBe('');
  });
});
