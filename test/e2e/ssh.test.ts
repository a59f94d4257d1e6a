import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes, type Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli, CLI_ENV, runHearth, type Proc } from '../helpers/proc.ts';
import { guestShell, makeKey, startSshd, uploadOpensshImage } from '../helpers/ssh.ts';
import { ensureWebBuild, launchChromium } from '../helpers/browser.ts';

// SSH, port forwarding and the HTTP proxy through the guest agent, with Debian's OpenSSH client
// and server, to a VM on an isolated network without published ports: nothing but the guest
// agent's channel leads into it.
let p: Platform;
let vm: Vm;
let env: Record<string, string>;
let dir: string;
let sshOpts: string[];
let isoName: string;
const MARKER = `hearth-proxy-${randomBytes(4).toString('hex')}`;
const procs: Proc[] = [];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const run = (...args: string[]) => cli(args, env);

/** Progress of the long set-up on stderr: a set-up that times out says where it was. */
const step = (what: string) => process.stderr.write(`ssh.test: ${new Date().toISOString()} ${what}\n`);

beforeAll(async () => {
  // Before the manager starts: it serves the dashboard's files as they are at its start.
  ensureWebBuild();
  p = await startPlatform();
  step('platform up');
  dir = mkdtempSync(join(tmpdir(), 'hearth-ssh-'));
  const { key, pub } = makeKey(dir);
  // ssh reads ~/.ssh and writes known_hosts under HOME: the test's own, not the machine's.
  env = { ...CLI_ENV, HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken, HOME: dir };
  // OpenSSH takes ~/.ssh from the passwd entry, not HOME: the test's own known_hosts is named.
  sshOpts = ['-i', key, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`];
  await uploadOpensshImage(p.client, 'openssh');
  step('image uploaded');
  const x = randomInt(30, 200);
  const y = randomInt(1, 250);
  const iso = await p.client.call('createNetwork', {
    body: { name: `iso-ssh-${x}-${y}`, mode: 'isolated', cidr: `10.${x}.${y}.0/24` },
  });
  const created = await p.client.call('createVm', {
    body: {
      name: 'sshvm',
      image: 'openssh',
      memoryMib: 256,
      networks: [iso.name],
      user: 'dev',
      sshKeys: [pub],
    },
  });
  isoName = iso.name;
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 300 },
  });
  expect(vm.state).toBe('running');
  step('VM running');
  await startSshd(p.client, vm);
  step('sshd started');
  await guestShell(
    p.client,
    vm.id,
    [
      `mkdir -p /www/cgi-bin && echo ${MARKER} > /www/index.html`,
      // A CGI that answers with the method, the query and the request body.
      `printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n"' 'echo "$REQUEST_METHOD $QUERY_STRING"' 'head -c "$CONTENT_LENGTH"' > /www/cgi-bin/echo`,
      'chmod +x /www/cgi-bin/echo',
      'httpd -p 127.0.0.1:8080 -h /www',
      // busybox nc: -ll with -e forks one `cat` per connection, an echo server.
      'nc -ll -p 9000 -e /bin/cat </dev/null >/dev/null 2>&1 &',
    ].join('\n'),
  );
  step('servers started');
}, 900_000);

afterAll(async () => {
  for (const pr of procs) await pr.kill();
  await p?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Reads from a socket until `n` bytes came. */
function readN(sock: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        sock.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

function dialLocal(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('hearth ssh through the guest agent', () => {
  it('the VM is only on an isolated network, with no published port', () => {
    expect(vm.ports).toEqual([]);
    expect(vm.networks.map((n) => n.networkName)).toEqual([isoName]);
  });

  it('`hearth ssh VM -- uname -a` prints the guest uname, as the VM user by default', async () => {
    const want = (await guestShell(p.client, vm.id, 'uname -a')).trim();
    const r = await run('ssh', 'sshvm', ...sshOpts, '--', 'uname', '-a');
    expect(r.stderr).not.toMatch(/denied|refused|failed/i);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(want);
    const who = await run('ssh', 'sshvm', ...sshOpts, '--', 'id', '-un');
    expect(who.stdout.trim()).toBe('dev');
    const exit = await run('ssh', 'sshvm', ...sshOpts, '--', 'exit 7');
    expect(exit.code).toBe(7);
  });

  it('scp copies a file in and out with its sha256 intact (ssh --config)', async () => {
    const cfg = await run('ssh', '--config', 'sshvm');
    expect(cfg.code).toBe(0);
    expect(cfg.stdout).toContain('Host hearth-sshvm');
    expect(cfg.stdout).toContain('User dev');
    expect(cfg.stdout).toContain('ssh-proxy');
    const config = join(dir, 'ssh_config');
    writeFileSync(config, cfg.stdout);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const local = join(dir, 'in.bin');
    writeFileSync(local, data);
    const scp = (...a: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn('scp', ['-F', config, ...sshOpts, ...a], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (code) => resolve({ code, stderr }));
      });
    const up = await scp(local, 'hearth-sshvm:/tmp/in.bin');
    expect(up.stderr).not.toMatch(/denied|refused|failed|error/i);
    expect(up.code).toBe(0);
    expect((await guestShell(p.client, vm.id, 'sha256sum /tmp/in.bin')).split(' ')[0]).toBe(sha256(data));
    const back = join(dir, 'out.bin');
    const down = await scp('hearth-sshvm:/tmp/in.bin', back);
    expect(down.code).toBe(0);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });
});

describe('port-forward and the HTTP proxy through the guest agent', () => {
  let fwd: Proc;
  let web: number;
  let echo: number;

  it('`hearth port-forward` reaches a server in the guest', async () => {
    fwd = runHearth(['port-forward', 'sshvm', '0:8080', '0:9000'], env);
    procs.push(fwd);
    await fwd.waitFor(/-> 9000/, 120_000);
    const ports = [...fwd.output().matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)];
    web = Number(ports.find((m) => m[2] === '8080')![1]);
    echo = Number(ports.find((m) => m[2] === '9000')![1]);
    const res = await fetch(`http://127.0.0.1:${web}/index.html`);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe(MARKER);
  });

  it('carries two streams at once; closing one leaves the other working', async () => {
    const a = await dialLocal(echo);
    const b = await dialLocal(echo);
    a.write('first-a');
    b.write('first-b');
    expect((await readN(a, 7)).toString()).toBe('first-a');
    expect((await readN(b, 7)).toString()).toBe('first-b');
    const closed = new Promise((r) => a.once('close', r));
    a.end();
    await closed;
    const big = randomBytes(4 * 1024 * 1024);
    const echoed = readN(b, big.length);
    b.write(big);
    expect(sha256((await echoed).subarray(0, big.length))).toBe(sha256(big));
    b.destroy();
  });

  it('ends cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((r) => fwd.child.once('exit', (code) => r(code)));
    fwd.child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(dialLocal(web)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('the HTTP proxy route returns the page, sandboxed, and says when nothing listens', async () => {
    const auth = { authorization: `Bearer ${p.manager.adminToken}` };
    const res = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8080/index.html?x=1`, { headers: auth });
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe(MARKER);
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox/);
    // The app's root, as the dashboard links it; without the slash, a redirect adds it.
    const root = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8080/`, { headers: auth });
    expect(root.status).toBe(200);
    expect((await root.text()).trim()).toBe(MARKER);
    const bare = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8080?a=b`, {
      headers: auth,
      redirect: 'manual',
    });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/v1/vms/sshvm/proxy/8080/?a=b');
    // Method, query and body reach the guest's server.
    const post = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8080/cgi-bin/echo?q=1`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello-post',
    });
    expect(post.status).toBe(200);
    expect(await post.text()).toBe('POST q=1\nhello-post');
    const missing = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8080/nothing-here`, { headers: auth });
    expect(missing.status).toBe(404); // the guest server's own answer, passed on
    await missing.text();
    const none = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8181/`, { headers: auth });
    expect(none.status).toBe(502);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('GUEST_PORT_UNREACHABLE');
    const anon = await fetch(`${p.manager.url}/v1/vms/sshvm/proxy/8080/index.html`);
    expect(anon.status).toBe(401);
  });
});

describe('the HTTP proxy in a browser', () => {
  it("a page opened from the dashboard loads its script, style and the script's fetch through a pass", async () => {
    // An app whose page needs three more requests, all relative: a style, a script, and a fetch.
    await guestShell(
      p.client,
      vm.id,
      [
        'mkdir -p /www2',
        `printf '%s' '<!doctype html><html lang="en"><head><title>app</title><link rel="stylesheet" href="style.css"><script src="app.js" defer></script></head><body><p id="out">waiting</p></body></html>' > /www2/index.html`,
        `printf '%s' '#out { color: rgb(1, 2, 3); }' > /www2/style.css`,
        `printf '%s' 'fetch("data.txt").then((r) => r.text()).then((t) => { document.getElementById("out").textContent = t.trim(); });' > /www2/app.js`,
        `echo ${MARKER}-data > /www2/data.txt`,
        'httpd -p 127.0.0.1:8081 -h /www2',
      ].join('\n'),
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      // Signed in with a password: a browser session (cookie and CSRF header), as people use it.
      const password = randomBytes(12).toString('hex');
      await p.client.call('createUser', { body: { name: 'proxy-admin', password, admin: true } });
      await page.goto(p.manager.url);
      await page.getByLabel('User name').fill('proxy-admin');
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await page.goto(`${p.manager.url}/vms/${vm.id}/network`);
      await page.getByLabel('Port', { exact: true }).fill('8081');
      const [app] = await Promise.all([
        page.context().waitForEvent('page'),
        page.getByRole('button', { name: 'Open port 8081' }).click(),
      ]);
      await app
        .locator('#out')
        .filter({ hasText: `${MARKER}-data` })
        .waitFor({ timeout: 60_000 });
      expect(await app.locator('#out').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(1, 2, 3)');
      const path = new URL(app.url()).pathname;
      expect(path).toMatch(/^\/v1\/proxy-passes\/hth_pxy_[A-Za-z0-9_-]+\/$/);
      // The same address works without any credential, sandboxed, and keeps the pass out of Referers.
      const res = await fetch(`${p.manager.url}${path}data.txt`);
      expect((await res.text()).trim()).toBe(`${MARKER}-data`);
      expect(res.headers.get('content-security-policy')).toMatch(/^sandbox/);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      // Signing out of the dashboard ends the passes it made.
      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === routes.logout.path && r.ok()),
        page.getByRole('button', { name: 'Sign out', exact: true }).click(),
      ]);
      const after = await fetch(`${p.manager.url}${path}data.txt`);
      expect(after.status).toBe(401);
      expect(((await after.json()) as { error: { code: string } }).error.code).toBe('PROXY_PASS_INVALID');
    } finally {
      await browser.close();
    }
  });
});
