import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandExitError, NotFoundError, Sandbox } from 'e2b';
import { Sandbox as Sandbox250 } from 'e2b-2-50';
import { getWithHost, isVmmOf, qemuPid } from '../helpers/e2b.ts';
import { late } from '../helpers/late.ts';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';

// The unmodified `e2b` SDK (2.51.0, pinned) against a running Hearth, through /e2b on the
// manager's port: one sandbox shared by the file's tests, others where a test needs its own.

const platform = late<Platform>('the platform');
const shared = late<Sandbox>('the shared sandbox');

/** What every SDK call gets: our URLs and key, and deadlines for a slow (TCG) machine. */
const opts = () => {
  const p = platform.get();
  const url = `${p.manager.url}/e2b`;
  return {
    apiUrl: url,
    sandboxUrl: url,
    apiKey: adminToken(p),
    requestTimeoutMs: 300_000,
  };
};

const adminToken = (p: Platform) => p.manager.adminToken;

/** The domain of the sandboxes' host names (no DNS: the tests send the Host header themselves). */
const DOMAIN = 'e2b.hearth.test';

/** A GET to the manager's port with a Host of our choosing, as wildcard DNS would bring it. */
const viaHost = (host: string, path = '/', headers: Record<string, string> = {}) =>
  getWithHost(platform.get().manager.url, host, path, headers);
const vmmPid = (vmId: string) => qemuPid(platform.get().dir, vmId);

const snapshotsOf = async (vmId: string) =>
  (await platform.get().client.call('listSnapshots', { query: { vm: vmId } })).items;

const made: string[] = [];
async function create(extra: Record<string, unknown> = {}): Promise<Sandbox> {
  const sbx = await Sandbox.create({ ...opts(), timeoutMs: 600_000, ...extra });
  made.push(sbx.sandboxId);
  return sbx;
}

beforeAll(async () => {
  platform.set(await startPlatform({ manager: { e2bDomain: DOMAIN } }));
  shared.set(await create({ metadata: { suite: 'e2b', role: 'shared' } }));
}, 400_000);

afterAll(async () => {
  for (const id of made) await Sandbox.kill(id, opts()).catch(() => undefined);
  await platform.peek()?.dispose();
}, 120_000);

describe('the e2b SDK against Hearth', () => {
  it('runs a command in a login shell as on E2B', async () => {
    const r = await shared.get().commands.run('echo $HOME; echo "$0"; echo err >&2', { timeoutMs: 120_000 });
    expect(r.exitCode).toBe(0);
    // HOME is the user's (root's here) and $0 the login shell (busybox sh in the base image).
    expect(r.stdout).toMatch(/^\/root\n-?\/bin\/(ba)?sh\n$/);
    expect(r.stderr).toBe('err\n');
  });

  it('raises CommandExitError for a non-zero exit, with its output', async () => {
    const err = await shared
      .get()
      .commands.run('echo before; exit 3', { timeoutMs: 120_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandExitError);
    expect((err as CommandExitError).exitCode).toBe(3);
    expect((err as CommandExitError).stdout).toBe('before\n');
  });

  it('streams output to callbacks, in order', async () => {
    const out: string[] = [];
    const errs: string[] = [];
    const r = await shared.get().commands.run('for i in 1 2 3; do echo o$i; echo e$i >&2; done', {
      onStdout: (d) => void out.push(d),
      onStderr: (d) => void errs.push(d),
      timeoutMs: 120_000,
    });
    expect(out.join('')).toBe('o1\no2\no3\n');
    expect(errs.join('')).toBe('e1\ne2\ne3\n');
    expect(r.stdout).toBe('o1\no2\no3\n');
  });

  it('passes env and cwd', async () => {
    const r = await shared.get().commands.run('echo "$GREETING $(pwd)"', {
      envs: { GREETING: 'hi' },
      cwd: '/tmp',
      timeoutMs: 120_000,
    });
    expect(r.stdout).toBe('hi /tmp\n');
  });

  it('runs in the background, lists, feeds stdin, and kills', async () => {
    const sbx = shared.get();
    const cat = await sbx.commands.run('cat', { background: true, stdin: true, timeoutMs: 0 });
    expect(cat.pid).toBeGreaterThan(0);
    const listed = await sbx.commands.list();
    expect(listed.map((p) => p.pid)).toContain(cat.pid);
    expect(listed.find((p) => p.pid === cat.pid)).toMatchObject({
      cmd: '/bin/bash',
      args: ['-l', '-c', 'cat'],
    });
    await sbx.commands.sendStdin(cat.pid, 'piped\n');
    await until('the echo of stdin', () => cat.stdout === 'piped\n', 60_000);
    await sbx.commands.closeStdin(cat.pid);
    const done = await cat.wait();
    expect(done.exitCode).toBe(0);
    expect(done.stdout).toBe('piped\n');

    const sleeper = await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 });
    expect(await sbx.commands.kill(sleeper.pid)).toBe(true);
    const killed = await sleeper.wait().catch((e: unknown) => e);
    expect(killed).toBeInstanceOf(CommandExitError);
    await until(
      'the kill',
      async () => !(await sbx.commands.list()).some((p) => p.pid === sleeper.pid),
      60_000,
    );
    expect(await sbx.commands.kill(sleeper.pid)).toBe(false);
  });

  it('connects to a running background process from a second handle', async () => {
    const sbx = shared.get();
    const h = await sbx.commands.run('read line; echo got $line', {
      background: true,
      stdin: true,
      timeoutMs: 0,
    });
    const again = await sbx.commands.connect(h.pid, { timeoutMs: 0 });
    await sbx.commands.sendStdin(h.pid, 'x\n');
    const r = await again.wait();
    expect(r.stdout).toContain('got x');
  });

  it('opens a PTY, types into it and resizes it', async () => {
    const sbx = shared.get();
    let out = '';
    const dec = new TextDecoder();
    const pty = await sbx.pty.create({
      cols: 80,
      rows: 24,
      onData: (d) => void (out += dec.decode(d)),
      timeoutMs: 0,
    });
    expect(pty.pid).toBeGreaterThan(0);
    await sbx.pty.resize(pty.pid, { cols: 100, rows: 40 });
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('stty size; echo pty-$((6*7))\n'));
    await until(
      'the new size and the answer',
      () => out.includes('40 100') && out.includes('pty-42'),
      60_000,
    );
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('exit 5\n'));
    const r = await pty.wait().catch((e: unknown) => e);
    expect((r as { exitCode: number }).exitCode).toBe(5);
  });

  it('reports and changes the sandbox, and its timeout', async () => {
    const sbx = shared.get();
    const info = await sbx.getInfo();
    expect(info).toMatchObject({
      sandboxId: sbx.sandboxId,
      templateId: 'base',
      metadata: { suite: 'e2b', role: 'shared' },
      state: 'running',
    });
    await sbx.setTimeout(900_000);
    const later = await sbx.getInfo();
    expect(later.endAt.getTime()).toBeGreaterThan(info.endAt.getTime());
    expect(await sbx.isRunning()).toBe(true);
  });

  it('lists sandboxes with metadata filters and pagination', async () => {
    const other = await create({ metadata: { suite: 'e2b', role: 'other & more=yes' } });
    const all = await Sandbox.list({ ...opts(), query: { metadata: { suite: 'e2b' } } }).nextItems();
    expect(all.map((s) => s.sandboxId).sort()).toEqual([shared.get().sandboxId, other.sandboxId].sort());
    const only = await Sandbox.list({
      ...opts(),
      query: { metadata: { role: 'other & more=yes' } },
    }).nextItems();
    expect(only.map((s) => s.sandboxId)).toEqual([other.sandboxId]);
    const pager = Sandbox.list({ ...opts(), limit: 1, query: { metadata: { suite: 'e2b' } } });
    const seen: string[] = [];
    while (pager.hasNext) seen.push(...(await pager.nextItems()).map((s) => s.sandboxId));
    expect(seen.sort()).toEqual(all.map((s) => s.sandboxId).sort());

    expect(await Sandbox.kill(other.sandboxId, opts())).toBe(true);
    expect(await Sandbox.kill(other.sandboxId, opts())).toBe(false);
    await expect(Sandbox.getInfo(other.sandboxId, opts())).rejects.toBeInstanceOf(NotFoundError);
  }, 400_000);

  it("refuses an envd call made with another sandbox's access token", async () => {
    const p = platform.get();
    const sbx = shared.get();
    const base = `${p.manager.url}/e2b/process.Process/List`;
    const call = (token?: string) =>
      fetch(base, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'e2b-sandbox-id': sbx.sandboxId,
          ...(token ? { 'x-access-token': token } : {}),
        },
        body: '{}',
      });
    const own = (sbx as unknown as { envdAccessToken: string }).envdAccessToken;
    expect((await call(own)).status).toBe(200);
    const missing = await call();
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 'unauthenticated' });
    const other = await create();
    const foreign = await call((other as unknown as { envdAccessToken: string }).envdAccessToken);
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ code: 'permission_denied' });
    // And that token still works on its own sandbox.
    expect((await other.commands.run('echo mine', { timeoutMs: 120_000 })).stdout).toBe('mine\n');
    await other.kill();
  }, 400_000);

  it('answers control-plane errors in E2B’s shape', async () => {
    const p = platform.get();
    const res = await fetch(`${p.manager.url}/e2b/sandboxes/nosuchsandbox`, {
      headers: { 'x-api-key': adminToken(p) },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 404 });
    const unauth = await fetch(`${p.manager.url}/e2b/sandboxes/nosuchsandbox`, {
      headers: { 'x-api-key': 'e2b_0000' },
    });
    expect(unauth.status).toBe(401);
    expect(await unauth.json()).toMatchObject({ code: 401 });
  });

  it('pauses a sandbox to disk, its VMM gone, and resumes it on connect with its files and processes', async () => {
    const p = platform.get();
    const sbx = await create();
    const vm = await p.client.call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } });
    const pid = await vmmPid(vm.id);
    expect(await isVmmOf(pid, vm.id)).toBe(true);
    await sbx.commands.run('echo kept > /tmp/kept', { timeoutMs: 120_000 });
    const bg = await sbx.commands.run('sleep 900', { background: true, timeoutMs: 0 });
    expect(await sbx.pause()).toBe(true);
    expect((await sbx.getInfo()).state).toBe('paused');
    // Released: the VM is stopped, its QEMU process gone; its memory and disk are in a snapshot.
    expect((await p.client.call('getVm', { params: { id: vm.id } })).state).toBe('stopped');
    expect(await isVmmOf(pid, vm.id)).toBe(false);
    expect(await snapshotsOf(vm.id)).toHaveLength(1);
    // The stream the manager held for the background command ended with the VMM.
    const ended = await bg.wait().catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(CommandExitError);
    expect(await Sandbox.pause(sbx.sandboxId, opts())).toBe(false);
    const paused = await Sandbox.list({ ...opts(), query: { state: ['paused'] } }).nextItems();
    expect(paused.map((s) => s.sandboxId)).toEqual([sbx.sandboxId]);
    const back = await Sandbox.connect(sbx.sandboxId, { ...opts(), timeoutMs: 600_000 });
    expect((await back.getInfo()).state).toBe('running');
    // Restored in place: the same VM, a new VMM; the snapshot is deleted once resumed.
    expect((await p.client.call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } })).id).toBe(vm.id);
    expect(await isVmmOf(await vmmPid(vm.id), vm.id)).toBe(true);
    expect(await snapshotsOf(vm.id)).toHaveLength(0);
    expect((await back.commands.run('cat /tmp/kept', { timeoutMs: 120_000 })).stdout).toBe('kept\n');
    expect((await back.commands.list()).map((p) => p.pid)).toContain(bg.pid);
    // Paused again (a snapshot of a VM restored from one since deleted), then killed while paused.
    expect(await back.pause()).toBe(true);
    const [again] = await snapshotsOf(vm.id);
    expect(again).toBeDefined();
    expect(await back.kill()).toBe(true);
    await expect(p.client.call('getSnapshot', { params: { id: again!.id } })).rejects.toMatchObject({
      code: 'SNAPSHOT_NOT_FOUND',
    });
    await until(
      'the VM deleted',
      async () => !(await p.client.call('listVms', {})).items.some((v) => v.id === vm.id),
      120_000,
    );
  }, 600_000);

  it('kills a sandbox at its end, or pauses it with onTimeout pause', async () => {
    const short = await create({ timeoutMs: 5_000 });
    const pausing = await create({ timeoutMs: 5_000, lifecycle: { onTimeout: 'pause' } });
    await until(
      'the short sandbox killed',
      async () => !(await Sandbox.list(opts()).nextItems()).some((s) => s.sandboxId === short.sandboxId),
      120_000,
    );
    await expect(Sandbox.getInfo(short.sandboxId, opts())).rejects.toBeInstanceOf(NotFoundError);
    await until('the other paused', async () => (await pausing.getInfo()).state === 'paused', 120_000);
    // Paused to disk: frozen in memory first, then snapshotted and stopped.
    const vmName = `e2b-${pausing.sandboxId}`;
    await until(
      'its VM stopped',
      async () => (await platform.get().client.call('getVm', { params: { id: vmName } })).state === 'stopped',
      120_000,
    );
    expect((await pausing.getInfo()).state).toBe('paused');
    await pausing.kill();
  }, 400_000);

  it('creates from a warm pool named by the template id', async () => {
    const p = platform.get();
    await p.client.call('createPool', { body: { name: 'e2b-warm', size: 1 } });
    await until(
      'a pooled VM',
      async () => (await p.client.call('getPool', { params: { id: 'e2b-warm' } })).ready === 1,
      600_000,
    );
    const sbx = await Sandbox.create('e2b-warm', { ...opts(), timeoutMs: 600_000 });
    made.push(sbx.sandboxId);
    expect((await sbx.getInfo()).templateId).toBe('e2b-warm');
    const vm = await p.client.call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } });
    expect(vm.boot?.source).toBe('pool');
    expect((await sbx.commands.run('echo pooled', { timeoutMs: 120_000 })).stdout).toBe('pooled\n');
    await p.client.call('patchPool', { params: { id: 'e2b-warm' }, body: { size: 0 } });
  }, 700_000);

  it('works the same with the 2.50 SDK', async () => {
    const sbx = await Sandbox250.create({ ...opts(), timeoutMs: 600_000 });
    made.push(sbx.sandboxId);
    expect((await sbx.commands.run('echo old sdk', { timeoutMs: 120_000 })).stdout).toBe('old sdk\n');
    const err = await sbx.commands.run('exit 4', { timeoutMs: 120_000 }).catch((e: unknown) => e);
    expect((err as { exitCode: number }).exitCode).toBe(4);
    const listed = await Sandbox250.list({ ...opts(), query: { metadata: { suite: 'e2b' } } }).nextItems();
    expect(listed.map((s) => s.sandboxId)).toContain(shared.get().sandboxId);
    await sbx.kill();
    expect(await Sandbox250.kill(sbx.sandboxId, opts())).toBe(false);
  }, 400_000);

  it('routes getHost(port) to that port of the sandbox, on the manager’s port', async () => {
    const sbx = shared.get();
    const host = sbx.getHost(8080);
    expect(host).toBe(`8080-${sbx.sandboxId}.${DOMAIN}`);
    await sbx.commands.run('mkdir -p /tmp/www && echo "hello from $(hostname)" > /tmp/www/index.html', {
      timeoutMs: 120_000,
    });
    await sbx.commands.run('httpd -f -p 8080 -h /tmp/www', { background: true, timeoutMs: 0 });
    await until('the page through the host name', async () => (await viaHost(host)).status === 200, 120_000);
    const page = await viaHost(host, '/index.html?x=1');
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/^hello from /);
    // Nothing listens on 8081: E2B's 502, in its shape.
    const closed = await viaHost(sbx.getHost(8081));
    expect(closed.status).toBe(502);
    expect(JSON.parse(closed.body)).toMatchObject({ code: 502 });
    // A sandbox id that is none: E2B's 404 (a Hearth VM's name is not a sandbox either).
    const none = await viaHost(`8080-nosuchsandbox0000000.${DOMAIN}`);
    expect(none).toMatchObject({ status: 404 });
    expect(JSON.parse(none.body)).toMatchObject({ code: 404 });
    const vmName = await viaHost(`8080-e2b-${sbx.sandboxId}.${DOMAIN}`);
    expect(vmName).toMatchObject({ status: 404 });
    // Another domain than the configured one is the manager's own business (its API here).
    expect((await viaHost(`8080-${sbx.sandboxId}.elsewhere.test`, '/e2b/sandboxes')).status).toBe(401);
    expect(sbx.trafficAccessToken).toBeUndefined();
  }, 400_000);

  it('asks a private sandbox’s ports for its traffic access token', async () => {
    const sbx = await create({ network: { allowPublicTraffic: false } });
    const token = sbx.trafficAccessToken;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token).not.toBe((sbx as unknown as { envdAccessToken: string }).envdAccessToken);
    await sbx.commands.run('mkdir -p /tmp/www && echo private > /tmp/www/index.html', { timeoutMs: 120_000 });
    await sbx.commands.run('httpd -f -p 8080 -h /tmp/www', { background: true, timeoutMs: 0 });
    const host = sbx.getHost(8080);
    await until(
      'the private page with the token',
      async () => (await viaHost(host, '/', { 'e2b-traffic-access-token': token! })).status === 200,
      120_000,
    );
    expect((await viaHost(host, '/', { 'e2b-traffic-access-token': token! })).body).toBe('private\n');
    const without = await viaHost(host);
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body)).toMatchObject({ code: 403 });
    expect((await viaHost(host, '/', { 'e2b-traffic-access-token': 'f'.repeat(64) })).status).toBe(403);
    // Connect hands the same token out again.
    const again = await Sandbox.connect(sbx.sandboxId, { ...opts(), timeoutMs: 600_000 });
    expect(again.trafficAccessToken).toBe(token);
    await sbx.kill();
  }, 400_000);
});
