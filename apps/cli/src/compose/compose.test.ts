import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CreateContainerBody } from '@hearth/contract';
import { loadCompose, startOrder } from './load.ts';
import { interpolateString } from './interpolate.ts';

/** Writes a compose file (and extra files) into a fresh directory named `dir`. */
function project(yaml: string, files: Record<string, string> = {}, dir = 'shop') {
  const root = join(mkdtempSync(join(tmpdir(), 'compose-')), dir);
  for (const [f, text] of Object.entries({ 'compose.yaml': yaml, ...files })) {
    writeFileSync(join(mkdirp(root), f), text);
  }
  return root;
}
function mkdirp(d: string) {
  mkdirSync(d, { recursive: true });
  return d;
}
const load = (yaml: string, files?: Record<string, string>, environ: NodeJS.ProcessEnv = {}) =>
  loadCompose({ cwd: project(yaml, files), environ });
const refusal = (yaml: string, environ: NodeJS.ProcessEnv = {}) => {
  try {
    load(yaml, {}, environ);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the file was accepted');
};

const WEB_DB = `
name: shop
services:
  web:
    image: registry.local:5000/web:1
    command: nginx -g 'daemon off;'
    ports: ["8080:80", {target: 53, published: "5353", protocol: udp}]
    environment:
      DB_HOST: db
      RETRIES: 3
      FROM_SHELL:
    env_file: [web.env]
    depends_on:
      db: {condition: service_healthy}
    labels: [tier=front]
    cpus: 0.5
    mem_limit: 512m
    restart: on-failure:2
    stop_grace_period: 1m30s
    stop_signal: SIGQUIT
    working_dir: /srv
    user: "101"
  db:
    image: registry.local:5000/postgres:15
    entrypoint: ["docker-entrypoint.sh"]
    environment: ["POSTGRES_PASSWORD=\${PGPASS:-secret}"]
    volumes: ["pgdata:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres"]
      interval: 2s
      timeout: 1m
      retries: 30
      start_period: 1.5s
volumes:
  pgdata:
`;

describe('compose files → container bodies', () => {
  it('plans the common subset in dependency order, named per project, on its network', () => {
    const p = load(WEB_DB, { 'web.env': 'DB_HOST=overridden\nFROM_FILE="x y"\n' }, { FROM_SHELL: 'shell' });
    expect(p.name).toBe('shop');
    expect(p.services.map((s) => s.name)).toEqual(['db', 'web']);
    expect(p.networks).toEqual([{ key: 'default', name: 'shop-default', external: false }]);
    expect(p.volumes).toEqual([{ key: 'pgdata', name: 'shop-pgdata', external: false }]);
    const [db, web] = p.services;
    expect(web!.dependsOn).toEqual([{ service: 'db', condition: 'service_healthy' }]);
    expect(web!.body).toMatchObject({
      name: 'shop-web-1',
      image: 'registry.local:5000/web:1',
      command: ['nginx', '-g', 'daemon off;'],
      env: { DB_HOST: 'db', RETRIES: '3', FROM_SHELL: 'shell', FROM_FILE: 'x y' },
      ports: [
        { host: 8080, container: 80, protocol: 'tcp' },
        { host: 5353, container: 53, protocol: 'udp' },
      ],
      vcpus: 1,
      memoryMib: 512,
      restart: 'on-failure:2',
      stopGraceSeconds: 90,
      stopSignal: 'SIGQUIT',
      workdir: '/srv',
      user: '101',
      network: 'shop-default',
      networkAliases: ['web'],
      labels: { tier: 'front', 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' },
    });
    expect(db!.body).toMatchObject({
      name: 'shop-db-1',
      entrypoint: ['docker-entrypoint.sh'],
      env: { POSTGRES_PASSWORD: 'secret' },
      volumes: [{ source: 'shop-pgdata', target: '/var/lib/postgresql/data', readOnly: false }],
      healthcheck: {
        cmd: ['pg_isready', '-U', 'postgres'],
        interval: '2s',
        timeout: '1m',
        retries: 30,
        startPeriod: '1500ms',
      },
    });
    for (const s of p.services) expect(CreateContainerBody.safeParse(s.body).success).toBe(true);
  });

  it('recreates only what changed: the config hash label follows the service definition', () => {
    const hash = (yaml: string) => load(yaml).services[0]!.body.labels!['com.docker.compose.config-hash'];
    const a = hash('services:\n  web:\n    image: nginx\n');
    expect(hash('services:\n  web:\n    image: nginx\n')).toBe(a);
    expect(hash('services:\n  web:\n    image: nginx\n    environment: [A=1]\n')).not.toBe(a);
  });

  it('names the project after -p, then name:, then the directory', () => {
    const dir = project('services:\n  a:\n    image: x\n', {}, 'My_App');
    expect(loadCompose({ cwd: dir, environ: {} }).name).toBe('my-app');
    expect(loadCompose({ cwd: dir, environ: {}, project: 'other' }).services[0]!.body.name).toBe('other-a-1');
    expect(loadCompose({ cwd: dir, environ: { COMPOSE_PROJECT_NAME: 'envname' } }).name).toBe('envname');
  });

  it('interpolates ${VAR}, defaults, $$ and .env, the shell winning over .env', () => {
    const yaml = [
      'services:',
      '  web:',
      '    image: "nginx:${TAG:-1.25}"',
      '    environment:',
      '      A: "${FROM_DOTENV}"',
      '      B: "${BOTH}"',
      '      C: "$$HOME and $${X}"',
      '      D: "${EMPTY-unset-only}/${EMPTY:-empty-too}"',
      '      E: "${MISSING}"',
    ].join('\n');
    const p = load(yaml, { '.env': 'FROM_DOTENV=dot\nBOTH=dot\nEMPTY=\n' }, { BOTH: 'shell' });
    expect(p.services[0]!.body.image).toBe('nginx:1.25');
    expect(p.services[0]!.body.env).toEqual({
      A: 'dot',
      B: 'shell',
      C: '$HOME and ${X}',
      D: '/empty-too',
      E: '',
    });
    expect(p.warnings).toContain('the variable MISSING is not set; an empty string is used');
    const w = new Set<string>();
    expect(interpolateString('${A:+set}${B+set}', { A: '1', B: '' }, 'x', w)).toBe('setset');
    expect(() => interpolateString('${DB:?give a password}', {}, 'services.db.environment.P', w)).toThrow(
      'services.db.environment.P: required variable DB is not set: give a password.',
    );
  });

  it('refuses every unsupported key by name with its path', () => {
    const msg = refusal(
      [
        'services:',
        '  web:',
        '    image: nginx',
        '    build: .',
        '    deploy: {replicas: 2}',
        '    healthcheck: {test: [CMD, "true"], start_interval: 1s}',
        '    depends_on: {db: {condition: service_started, restart: true}}',
        '    volumes: [{type: volume, source: v, target: /v, volume: {nocopy: true}}]',
        '  db:',
        '    image: pg',
        'secrets: {}',
        'x-common: &c {a: 1}',
      ].join('\n'),
    );
    expect(msg).toContain('services.web.build: not supported by hearth compose');
    expect(msg).toContain('services.web.deploy: not supported by hearth compose');
    expect(msg).toContain('services.web.healthcheck.start_interval: not supported by hearth compose');
    expect(msg).toContain('services.web.depends_on.db.restart: not supported by hearth compose');
    expect(msg).toContain('services.web.volumes[0].volume: not supported by hearth compose');
    expect(msg).toContain('secrets: not supported by hearth compose');
    expect(msg).not.toContain('x-common');
  });

  it('refuses values hearth cannot run, naming where they are', () => {
    const cases: [string, RegExp][] = [
      ['services:\n  web:\n    command: x\n', /services.web.image: /],
      [
        'services:\n  web:\n    image: a\n    volumes: ["./html:/usr/share/html"]\n',
        /services.web.volumes\[0\]: .*bind mounts/,
      ],
      ['services:\n  web:\n    image: a\n    volumes: ["data:/d"]\n', /the volume data is not declared/],
      [
        'services:\n  web:\n    image: a\n    ports: ["80"]\n',
        /services.web.ports\[0\]: 80 .*host port is required/,
      ],
      [
        'services:\n  web:\n    image: a\n    networks: [a, b]\nnetworks: {a: {}, b: {}}\n',
        /joins exactly one network/,
      ],
      [
        'services:\n  web:\n    image: a\n    healthcheck: {test: [CMD, x], interval: 10}\n',
        /services.web.healthcheck.interval: /,
      ],
      ['services:\n  web:\n    image: a\n    restart: sometimes\n', /services.web.restart: sometimes/],
      ['services:\n  my_web:\n    image: a\n', /services.my_web: a service name must be lowercase/],
      [
        'services:\n  web:\n    image: a\n    environment: 5\n',
        /services.web.environment: must be array or record/,
      ],
      ['services: [a]\n', /services: /],
      ['services:\n  web: {image: a\n', /is not valid YAML/],
    ];
    for (const [yaml, re] of cases) expect(refusal(yaml)).toMatch(re);
  });

  it('refuses dependency cycles, unknown dependencies and service_healthy without a healthcheck', () => {
    expect(
      refusal(
        'services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n',
      ),
    ).toBe('services.a.depends_on: dependency cycle a → b → c → a.');
    expect(refusal('services:\n  a: {image: x, depends_on: [a]}\n')).toMatch(/cycle a → a/);
    expect(refusal('services:\n  a: {image: x, depends_on: [db]}\n')).toBe(
      'services.a.depends_on: unknown service db.',
    );
    expect(
      refusal('services:\n  a: {image: x, depends_on: {b: {condition: service_healthy}}}\n  b: {image: x}\n'),
    ).toMatch(/services.a.depends_on.b: condition service_healthy needs a healthcheck on services.b/);
  });

  it('orders dependencies first and otherwise keeps the file order', () => {
    const deps = new Map([
      ['web', ['api', 'cache']],
      ['worker', ['db']],
      ['api', ['db']],
      ['cache', []],
      ['db', []],
    ]);
    expect(startOrder(deps)).toEqual(['db', 'api', 'cache', 'web', 'worker']);
  });
});
