import { execFile } from 'node:child_process';
import { get } from 'node:http';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container, ContainerEvent } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushDebianImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { cli, freePort, runHearth, type CliResult } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

const run = promisify(execFile);

/**
 * The container product end to end with the OCI test images built from Debian packages
 * (images/recipes/oci-*.sh): nginx and PostgreSQL in microVMs, driven through the `hearth` CLI as
 * a user would (run, logs -f, exec, rm, compose), checked from the host over the published ports.
 */
let p: Platform;
let reg: LocalRegistry;
let env: Record<string, string>;
const refs = { web: '', postgres: '' };

beforeAll(async () => {
  reg = await startRegistry();
  refs.web = await pushDebianImage(reg.host, 'web');
  refs.postgres = await pushDebianImage(reg.host, 'postgres');
  p = await startPlatform({ manager: { importAllow: ['127.0.0.0/8'] } });
  env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
}, 600_000);

afterAll(async () => {
  await p?.dispose();
  await reg?.dispose();
});

/** One CLI command that must succeed; its stdout. */
async function hearth(...args: string[]): Promise<string> {
  const r = await cli(args, env);
  if (r.code !== 0) {
    throw new Error(`hearth ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`.slice(0, 4000));
  }
  return r.stdout;
}

const exec = (target: string, ...command: string[]): Promise<CliResult> =>
  cli(['exec', target, ...command], env);

async function container(name: string): Promise<Container> {
  return p.client.call('getContainer', { params: { id: name } });
}

/**
 * The page on a published port of the host's loopback, or '' while nothing answers. Each request
 * on a connection of its own: a kept-alive one to a container that was removed meanwhile would
 * wait for an answer that never comes (its VM is gone without closing it).
 */
const page = (port: number, path = '/') =>
  new Promise<string>((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : ''));
      res.on('error', () => resolve(''));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(''));
  });

/** Why a wait on `target` failed: its state and last log lines. */
async function diagnose(target: string): Promise<string> {
  const ct = await container(target).catch((e: Error) => ({ error: e.message }));
  const logs = await cli(['logs', '-n', '30', target], env);
  return `${JSON.stringify(ct)}\nlogs:\n${logs.stdout}${logs.stderr}`;
}

/**
 * Waits until the PostgreSQL server in `target` accepts connections (exec, as a user checks it);
 * a container that ended meanwhile fails the wait at once, with its state and logs.
 */
async function untilAccepting(target: string): Promise<void> {
  try {
    await until(
      `PostgreSQL in ${target} accepts connections`,
      async () => {
        const ct = await container(target);
        if (ct.state === 'exited' || ct.state === 'failed') throw new Error(`${target} is ${ct.state}`);
        return (await exec(target, 'pg_isready', '-q', '-h', '127.0.0.1')).code === 0;
      },
      600_000,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; ${await diagnose(target)}`);
  }
}

/** Logs how long each step took (the machine's speed, not an assertion). */
function stepper(label: string) {
  let t = Date.now();
  return (what: string) => {
    const now = Date.now();
    console.log(`${label}: ${what} ${now - t} ms`);
    t = now;
  };
}

describe('containers from the Debian-built images, through the hearth CLI', () => {
  it('web: run -d -p serves the page on the host, logs -f shows each request live', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const id = (await hearth('run', '-d', '-p', `${port}:80`, '--name', 'web', refs.web)).trim();
    expect(id).toMatch(/^ctr_/);
    console.log(`web: run -d (pull included) answered after ${Date.now() - t0} ms`);
    let body = '';
    await until('nginx answers on the published port', async () => (body = await page(port)) !== '', 600_000);
    console.log(`web: create → serving ${Date.now() - t0} ms`);
    expect(body).toBe('hearth web ok\n');
    const ct = await container('web');
    expect(ct).toMatchObject({ state: 'running', ports: [{ host: port, container: 80 }] });
    // The image's CMD and exposed port came through the OCI import.
    const image = await p.client.call('getImage', { params: { id: ct.imageId! } });
    expect(image.meta).toMatchObject({
      oci: { cmd: ['nginx', '-g', 'daemon off;'], exposedPorts: ['80/tcp'] },
    });

    // access.log is /dev/stdout: each request is an app log line. The first probe shows the
    // follow is under way (stored lines), the second must arrive while it follows (live lines).
    const first = `/?probe=${randomBytes(6).toString('hex')}`;
    const second = `/?probe=${randomBytes(6).toString('hex')}`;
    expect(await page(port, first)).toBe('hearth web ok\n');
    const step = stepper('web');
    const follow = runHearth(['logs', '-f', 'web'], env);
    try {
      await follow.waitFor(`"GET ${first} HTTP/1.1" 200`, 300_000);
      step('logs -f → the earlier request shown');
      expect(await page(port, second)).toBe('hearth web ok\n');
      await follow.waitFor(`"GET ${second} HTTP/1.1" 200`, 300_000);
      step('request → its line in the follow');
      // Ctrl-C ends the follow cleanly.
      await follow.kill('SIGINT');
      expect(follow.child.exitCode, follow.output()).toBe(0);
    } finally {
      await follow.kill();
    }
    await hearth('rm', '-f', 'web');
    step('rm -f');
    expect(await page(port)).toBe('');
  }, 900_000);

  it('postgres: a named volume keeps the data across rm -f and a new container', async () => {
    const t0 = Date.now();
    await hearth(
      'run',
      '-d',
      '--name',
      'pg1',
      '-e',
      'POSTGRES_PASSWORD=pg-test-pw',
      '-e',
      'POSTGRES_DB=app',
      '-v',
      'pgdata:/var/lib/postgresql/data',
      refs.postgres,
    );
    await untilAccepting('pg1');
    console.log(`postgres: create → accepting connections ${Date.now() - t0} ms (pull included)`);
    const psql = (target: string, sql: string) =>
      exec(target, 'psql', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', 'app', '-tAc', sql);
    const made = await psql('pg1', "create table notes (body text); insert into notes values ('kept')");
    expect(made.code, made.stderr).toBe(0);
    await hearth('rm', '-f', 'pg1');
    await expect(container('pg1')).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    const vols = await p.client.call('listVolumes');
    expect(vols.items.map((v) => v.name)).toContain('pgdata');

    // A new container on the same volume, without POSTGRES_PASSWORD: the entrypoint refuses an
    // empty PGDATA without one, so it only starts if the volume holds the cluster.
    const port = await freePort();
    const t1 = Date.now();
    await hearth(
      'run',
      '-d',
      '--name',
      'pg2',
      '-p',
      `${port}:5432`,
      '-v',
      'pgdata:/var/lib/postgresql/data',
      refs.postgres,
    );
    await untilAccepting('pg2');
    console.log(`postgres: second create → accepting connections ${Date.now() - t1} ms`);
    const kept = await psql('pg2', 'select body from notes');
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout.trim()).toBe('kept');

    // The server runs as postgres, not root (setpriv, no setuid helper).
    const who = await exec(
      'pg2',
      'sh',
      '-c',
      'd=$PGDATA; stat -c %U "$d" "/proc/$(head -n 1 "$d/postmaster.pid")"',
    );
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout.trim().split('\n')).toEqual(['postgres', 'postgres']);
    // From the host through the published port: password auth, the wrong password refused.
    const pgEnv = (pw: string) => ({ ...process.env, PGPASSWORD: pw, PGCONNECT_TIMEOUT: '30' });
    const host = await run(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'app',
        '-tAc',
        'select 40 + 2, current_user',
      ],
      { env: pgEnv('pg-test-pw') },
    );
    expect(host.stdout.trim()).toBe('42|postgres');
    const wrong = await run(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'app', '-c', 'select 1'],
      {
        env: pgEnv('nope'),
      },
    ).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(wrong).toContain('password authentication failed');

    await hearth('rm', '-f', 'pg2');
    await hearth('volume', 'delete', 'pgdata');
  }, 900_000);

  it('compose: db healthy before web starts, web reaches db by name, down -v removes it all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-compose-'));
    const project = `shop${randomBytes(3).toString('hex')}`;
    try {
      const port = await freePort();
      await writeFile(
        join(dir, 'compose.yaml'),
        [
          `name: ${project}`,
          'services:',
          '  db:',
          `    image: ${refs.postgres}`,
          '    environment:',
          '      POSTGRES_PASSWORD: compose-pw',
          '      POSTGRES_DB: shop',
          '    volumes:',
          '      - dbdata:/var/lib/postgresql/data',
          '    healthcheck:',
          '      test: ["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres"]',
          '      interval: 3s',
          '      timeout: 30s',
          '      retries: 100',
          '      start_period: 10m',
          '  web:',
          `    image: ${refs.web}`,
          '    ports:',
          `      - "${port}:80"`,
          '    depends_on:',
          '      db:',
          '        condition: service_healthy',
          'volumes:',
          '  dbdata: {}',
          '',
        ].join('\n'),
      );
      // The project's network made beforehand on a subnet of its own (compose takes an existing
      // network of its name): compose's default pick under 10.213.0.0/16 only avoids this
      // manager's networks, not those of another platform on the same machine.
      await hearth(
        'network',
        'create',
        `${project}-default`,
        '--cidr',
        `10.${randomInt(200, 250)}.${randomInt(1, 250)}.0/24`,
      );
      const compose = (...args: string[]) => cli(['compose', '-f', join(dir, 'compose.yaml'), ...args], env);
      const t0 = Date.now();
      const up = await compose('up', '-d');
      expect(up.code, up.stderr).toBe(0);
      console.log(`compose up -d: ${Date.now() - t0} ms`);
      const db = await container(`${project}-db-1`);
      const web = await container(`${project}-web-1`);
      expect(db).toMatchObject({ state: 'running', health: 'healthy', networkAliases: ['db'] });
      expect(web.state).toBe('running');
      // The order: web started only once db's health check had passed (both events recorded by
      // the manager as it sees the changes), and compose said so in that order.
      const events = async (id: string) =>
        (await p.client.call('containerEvents', { params: { id } })).items as ContainerEvent[];
      const dbEvents = await events(db.id);
      const healthy = dbEvents.find((e) => e.type === 'health' && e.message === 'healthy');
      const webStarted = (await events(web.id)).find((e) => e.type === 'started');
      expect(healthy, JSON.stringify(dbEvents)).toBeDefined();
      expect(webStarted).toBeDefined();
      expect(Date.parse(webStarted!.at)).toBeGreaterThan(Date.parse(healthy!.at));
      expect(Date.parse(web.createdAt)).toBeGreaterThan(Date.parse(db.startedAt!));
      expect(up.stderr.indexOf(`Container ${project}-db-1 healthy`)).toBeLessThan(
        up.stderr.indexOf(`Container ${project}-web-1 created`),
      );

      // From inside web, the database by its service name.
      await until(
        'web serves on its published port',
        async () => (await page(port)) === 'hearth web ok\n',
        600_000,
      );
      const ready = await exec(web.name, 'pg_isready', '-h', 'db');
      expect(ready.code, ready.stdout + ready.stderr).toBe(0);
      expect(ready.stdout).toContain('db:5432 - accepting connections');
      const q = await cli(
        [
          'exec',
          '-e',
          'PGPASSWORD=compose-pw',
          web.name,
          'psql',
          '-h',
          'db',
          '-U',
          'postgres',
          '-d',
          'shop',
          '-tAc',
          'select 6 * 7',
        ],
        env,
      );
      expect(q.code, q.stderr).toBe(0);
      expect(q.stdout.trim()).toBe('42');

      const down = await compose('down', '-v');
      expect(down.code, down.stderr).toBe(0);
      const left = await p.client.call('listContainers', {
        query: { all: 'true', label: `com.docker.compose.project=${project}` },
      });
      expect(left.items).toEqual([]);
      expect((await p.client.call('listVolumes')).items.map((v) => v.name)).not.toContain(
        `${project}-dbdata`,
      );
      expect((await p.client.call('listNetworks')).items.map((n) => n.name)).not.toContain(
        `${project}-default`,
      );
      expect(await page(port)).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
