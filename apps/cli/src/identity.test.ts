import { mkdtemp, readFile, rm, stat, writeFile, mkdir, access } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiToken } from '@hearth/contract';
import { useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { makeUser, type TestUser } from '../../../test/helpers/identity.ts';
import { CLI_ENV, cli } from '../../../test/helpers/proc.ts';
import { readUserConfig, resolveProject, userConfigPath, writeUserConfig } from './config.ts';

describe('the user config file', () => {
  let dir: string;
  const saved = {
    xdg: process.env.XDG_CONFIG_HOME,
    home: process.env.HOME,
    project: process.env.HEARTH_PROJECT,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-cfg-'));
  });
  afterAll(async () => {
    for (const [k, v] of [
      ['XDG_CONFIG_HOME', saved.xdg],
      ['HOME', saved.home],
      ['HEARTH_PROJECT', saved.project],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('lives under $XDG_CONFIG_HOME, else ~/.config, readable by its owner only', async () => {
    process.env.XDG_CONFIG_HOME = join(dir, 'xdg');
    expect(userConfigPath()).toBe(join(dir, 'xdg', 'hearth', 'config.json'));
    const path = await writeUserConfig({ url: 'http://m:1', token: 'hth_user_x', project: 'p' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'xdg', 'hearth'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      url: 'http://m:1',
      token: 'hth_user_x',
      project: 'p',
    });
    expect(readUserConfig()).toEqual({ url: 'http://m:1', token: 'hth_user_x', project: 'p' });
    delete process.env.XDG_CONFIG_HOME;
    process.env.HOME = join(dir, 'home');
    expect(userConfigPath()).toBe(join(dir, 'home', '.config', 'hearth', 'config.json'));
    expect(readUserConfig()).toEqual({});
  });

  it('takes the project from --project, then $HEARTH_PROJECT, then the config', () => {
    process.env.HEARTH_PROJECT = 'env';
    expect(resolveProject('flag', { project: 'cfg' })).toBe('flag');
    expect(resolveProject(undefined, { project: 'cfg' })).toBe('env');
    delete process.env.HEARTH_PROJECT;
    expect(resolveProject(undefined, { project: 'cfg' })).toBe('cfg');
    expect(resolveProject(undefined, {})).toBeNull();
  });
});

// The CLI as a user runs it (its own process), against an in-process manager; no VM boots.
describe('hearth token, logout and --project', () => {
  const api = useApiPlatform({ host: null });
  let dir: string;
  let alice: TestUser;
  let bob: TestUser;
  /** A clean environment: no credentials but those a test gives, an empty data directory. */
  const env = (home: string, extra: Record<string, string> = {}) => ({
    ...CLI_ENV,
    HEARTH_URL: '',
    HEARTH_TOKEN: '',
    HEARTH_PROJECT: '',
    HEARTH_DATA_DIR: join(dir, 'empty-data'),
    XDG_CONFIG_HOME: join(dir, home),
    ...extra,
  });
  const configure = async (home: string, cfg: Record<string, string>) => {
    await mkdir(join(dir, home, 'hearth'), { recursive: true });
    await writeFile(join(dir, home, 'hearth', 'config.json'), JSON.stringify(cfg));
  };
  const status = (token: string) =>
    api.p.manager.app
      .inject({ method: 'GET', url: '/v1/vms', headers: { authorization: `Bearer ${token}` } })
      .then((r) => r.statusCode);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-cli-id-'));
    await mkdir(join(dir, 'empty-data'));
    const stores = api.p.manager.stores;
    alice = await makeUser(stores, { name: 'alice', roles: { default: 'owner', 'cli-a': 'operator' } });
    bob = await makeUser(stores, { name: 'bob', roles: { default: 'viewer' } });
    await stores.projects.create('cli-b');
    await configure('alice', { url: api.p.manager.url, token: alice.token });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a scoped token, printing its secret once, and lists it', async () => {
    const made = await cli(
      ['token', 'create', 'laptop', '--expires', '90d', '--role', 'viewer', '--project', 'cli-a'],
      env('alice'),
    );
    expect(made.stderr).toContain('Its secret is shown this once');
    expect(made.code).toBe(0);
    const secret = made.stdout.trim();
    expect(secret).toMatch(/^hth_user_/);
    const listed = await cli(['token', 'ls', '--json'], env('alice'));
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(secret);
    const tokens = JSON.parse(listed.stdout) as ApiToken[];
    expect(tokens.find((t) => t.name === 'laptop')).toMatchObject({
      userName: 'alice',
      role: 'viewer',
      project: 'cli-a',
      expiresAt: expect.any(String),
    });
    // The new token is scoped: it works in cli-a and nowhere else.
    const scoped = { authorization: `Bearer ${secret}` };
    const inA = await api.p.manager.app.inject({ method: 'GET', url: '/v1/vms', headers: scoped });
    expect(inA.statusCode).toBe(200);
  });

  it('sends --project, else $HEARTH_PROJECT, else the config default, on every verb', async () => {
    await configure('alice-b', { url: api.p.manager.url, token: alice.token, project: 'cli-b' });
    const [flag, envVar, fromConfig, flagWins] = await Promise.all([
      cli(['--project', 'cli-b', 'ls'], env('alice')),
      cli(['ls'], env('alice', { HEARTH_PROJECT: 'cli-b' })),
      cli(['ls'], env('alice-b')),
      cli(['ls', '--project', 'cli-a'], env('alice-b', { HEARTH_PROJECT: 'cli-b' })),
    ]);
    // alice is no member of cli-b: the manager refuses, so the project reached it.
    for (const r of [flag, envVar, fromConfig]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('code: PROJECT_NOT_FOUND');
      expect(r.stderr).toContain('"cli-b"');
    }
    expect(flagWins.stderr).toBe('');
    expect(flagWins.code).toBe(0);
  });

  it('prefers $HEARTH_TOKEN to the config, and never sends the config token to another manager', async () => {
    const [asBob, elsewhere, local] = await Promise.all([
      cli(['token', 'ls', '--json'], env('alice', { HEARTH_TOKEN: bob.token })),
      cli(['token', 'ls'], env('alice', { HEARTH_URL: api.p.manager.url.replace('127.0.0.1', 'localhost') })),
      (async () => {
        // The single-machine setup: `hearth up` leaves the URL and admin.token in the data dir.
        const data = join(dir, 'data');
        await mkdir(data, { recursive: true });
        await writeFile(join(data, 'manager.json'), JSON.stringify({ url: api.p.manager.url }));
        await writeFile(join(data, 'admin.token'), api.p.manager.adminToken);
        return cli(['token', 'ls', '--json'], env('nobody', { HEARTH_DATA_DIR: data }));
      })(),
    ]);
    expect(asBob.code).toBe(0);
    expect((JSON.parse(asBob.stdout) as ApiToken[]).map((t) => t.userName)).toEqual(['bob']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('No API token');
    expect(local.code).toBe(0);
    expect((JSON.parse(local.stdout) as ApiToken[]).map((t) => t.kind)).toEqual(['admin']);
  });

  it('revokes a token with token rm', async () => {
    const { id, token } = await api.p.manager.stores.tokens.createForUser(alice.id, { name: 'old' });
    expect(await status(token)).toBe(200);
    const r = await cli(['token', 'rm', id], env('alice'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked token ${id}`);
    expect(await status(token)).toBe(401);
    const again = await cli(['token', 'rm', id], env('alice'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('code: TOKEN_NOT_FOUND');
  });

  it('asks for what login needs, and refuses without a terminal to ask on', async () => {
    const url = api.p.manager.url;
    const [noUser, noPassword] = await Promise.all([
      cli(['login', url, '--password-stdin'], env('login'), 'secret\n'),
      cli(['login', url, '--user', 'alice'], env('login')),
    ]);
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain('--password-stdin needs --user NAME');
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('No password: pass --password-stdin');
    await expect(access(join(dir, 'login', 'hearth', 'config.json'))).rejects.toThrow();
  });

  it('logs out: revokes the stored token and removes the config', async () => {
    const { token } = await api.p.manager.stores.tokens.createForUser(bob.id, { name: 'cli' });
    await configure('bob', { url: api.p.manager.url, token, project: 'default' });
    const r = await cli(['logout'], env('bob'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await status(token)).toBe(401);
    await expect(access(join(dir, 'bob', 'hearth', 'config.json'))).rejects.toThrow();
    expect(await status(bob.token)).toBe(200);
  });
});

/**
 * `hearth login`, `whoami` and `logout` against a stand-in for the sign-in and `me` routes, which
 * the CLI reaches only through the contract: what it sends, and what it keeps in the config.
 */
describe('hearth login, whoami and logout (against a stand-in manager)', () => {
  let dir: string;
  let server: Server;
  let url: string;
  const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
  const user = {
    id: 'usr_1',
    name: 'carol',
    displayName: 'Carol',
    email: null,
    admin: false,
    disabled: false,
    sso: false,
    hasPassword: true,
    createdAt: new Date(0).toISOString(),
    lastSignInAt: null,
  };
  const env = () => ({
    ...CLI_ENV,
    HEARTH_URL: '',
    HEARTH_TOKEN: '',
    HEARTH_PROJECT: '',
    HEARTH_DATA_DIR: join(dir, 'data'),
    XDG_CONFIG_HOME: join(dir, 'cfg'),
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-login-'));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const send = (status: number, value?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(value === undefined ? '' : JSON.stringify(value));
        };
        if (req.method === 'POST' && req.url === '/v1/auth/login') {
          const b = JSON.parse(body) as { password: string };
          if (b.password !== 'correct horse') {
            return send(401, {
              error: {
                code: 'INVALID_CREDENTIALS',
                message: 'Signing in failed.',
                hint: 'h',
                requestId: 'r',
              },
            });
          }
          return send(200, { user, expiresAt: null, csrf: null, token: 'hth_user_issued' });
        }
        if (req.method === 'GET' && req.url === '/v1/me') {
          return send(200, {
            user,
            admin: false,
            via: 'token',
            projects: [{ name: 'team', role: 'operator' }],
            defaultProject: 'default',
            csrf: null,
            ceiling: null,
            scope: null,
          });
        }
        if (req.method === 'DELETE' && req.url === '/v1/tokens/current') return send(204);
        send(404, { error: { code: 'ROUTE_NOT_FOUND', message: 'no', hint: 'h', requestId: 'r' } });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('signs in for a token, keeps it with the URL and project, uses it, and signs out', async () => {
    const wrong = await cli(['login', url, '--user', 'carol', '--password-stdin'], env(), 'nope\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('code: INVALID_CREDENTIALS');
    await expect(access(join(dir, 'cfg', 'hearth', 'config.json'))).rejects.toThrow();

    const ok = await cli(
      ['login', `${url}/`, '--user', 'carol', '--password-stdin', '--project', 'team'],
      env(),
      'correct horse\n',
    );
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`Signed in to ${url} as carol`);
    const login = seen.find((s) => s.url === '/v1/auth/login' && s.body.includes('correct'))!;
    expect(login.headers.authorization).toBeUndefined();
    expect(JSON.parse(login.body)).toMatchObject({
      username: 'carol',
      password: 'correct horse',
      issue: 'token',
    });
    const path = join(dir, 'cfg', 'hearth', 'config.json');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      url,
      token: 'hth_user_issued',
      project: 'team',
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const who = await cli(['whoami'], env());
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(/user:\s+carol \(Carol\)/);
    expect(who.stdout).toMatch(/project:\s+team/);
    expect(who.stdout).toMatch(/projects:\s+team \(operator\)/);
    const me = seen.find((s) => s.url === '/v1/me')!;
    expect(me.headers).toMatchObject({ authorization: 'Bearer hth_user_issued', 'x-hearth-project': 'team' });

    const out = await cli(['logout'], env());
    expect(out.code).toBe(0);
    const del = seen.find((s) => s.method === 'DELETE')!;
    expect(del).toMatchObject({ url: '/v1/tokens/current' });
    expect(del.headers.authorization).toBe('Bearer hth_user_issued');
    await expect(access(path)).rejects.toThrow();
  });
});
