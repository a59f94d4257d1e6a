import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthClient } from '@hearth/sdk';
import { removeBridge } from '@hearth/agent';
import { killLeftoverVmms, startPlatform, uniqueNet, type Platform } from '../helpers/platform.ts';
import { freshDatabase, testPgUrl } from '../helpers/pg.ts';
import { freePort, runHearth, type Proc } from '../helpers/proc.ts';
import { pidAlive, until } from '../helpers/vm.ts';

describe('kill -9 of the agent while VMs run', () => {
  let p: Platform;
  let agent: Proc | null = null;
  const startAgentProcess = () => {
    const a = runHearth([
      'agent',
      '--manager',
      p.manager.url,
      '--join-token',
      p.manager.joinToken,
      '--data-dir',
      p.dir,
      '--port',
      '0',
      '--name',
      `crash-${p.net.bridge}`,
      '--bridge',
      p.net.bridge,
      '--cidr',
      p.net.cidr,
    ]);
    return a;
  };

  beforeAll(async () => {
    p = await startPlatform({ agent: false });
    agent = startAgentProcess();
    await agent.waitFor('agent registered');
  });
  afterAll(async () => {
    await agent?.kill();
    await p?.dispose();
  });

  it('keeps the VMs running and reports true states after the agent comes back', async () => {
    const a = await p.client.call('createVm', { body: { name: 'keep' } });
    const b = await p.client.call('createVm', { body: { name: 'lost' } });
    const va = await p.client.call('waitVm', {
      params: { id: a.id },
      query: { state: 'running', timeout: 120 },
    });
    const vb = await p.client.call('waitVm', {
      params: { id: b.id },
      query: { state: 'running', timeout: 120 },
    });

    await agent!.kill('SIGKILL');
    expect(pidAlive(va.pid!)).toBe(true);
    expect(pidAlive(vb.pid!)).toBe(true);
    // While the agent is down, one VMM dies: the next agent must notice rather than trust old records.
    process.kill(vb.pid!, 'SIGKILL');
    await until('lost VMM gone', () => !pidAlive(vb.pid!));

    agent = startAgentProcess();
    await agent.waitFor('agent registered');
    const failed = await p.client.call('waitVm', {
      params: { id: b.id },
      query: { state: 'failed', timeout: 60 },
    });
    expect(failed.stateReason).toContain('VMM process was gone');
    const kept = await p.client.call('getVm', { params: { id: a.id } });
    expect(kept.state).toBe('running');
    expect(kept.pid).toBe(va.pid);

    // The re-adopted VM is fully controllable: pause and resume go through its QMP socket.
    await p.client.call('pauseVm', { params: { id: a.id } });
    await p.client.call('waitVm', { params: { id: a.id }, query: { state: 'paused', timeout: 30 } });
    await p.client.call('resumeVm', { params: { id: a.id } });
    await p.client.call('waitVm', { params: { id: a.id }, query: { state: 'running', timeout: 30 } });
    const logs = await p.client.call('vmLogs', { params: { id: a.id }, query: {} });
    expect(logs).toContain('hearth-guest: booted');
  });
});

describe('`hearth up` crash and restart on the same data directory', () => {
  const net = uniqueNet();
  let dir = '';
  let up: Proc | null = null;
  let port = 0;
  let dropDb: (() => Promise<void>) | null = null;
  let env: Record<string, string> = {};

  const startUp = async () => {
    // --demo, as scripts/up.sh runs it: the first start boots "hello", later ones find it.
    up = runHearth(
      ['--data-dir', dir, 'up', '--demo', '--port', String(port), '--bridge', net.bridge, '--cidr', net.cidr],
      env,
    );
    await up.waitFor('Hearth is up');
  };
  const client = async () =>
    new HearthClient({
      baseUrl: `http://127.0.0.1:${port}`,
      token: (await readFile(join(dir, 'admin.token'), 'utf8')).trim(),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-up-'));
    port = await freePort();
    // PostgreSQL here, so real VMs run against the production database too (PGlite is covered elsewhere).
    const pgBase = testPgUrl();
    if (pgBase) {
      const db = await freshDatabase(pgBase);
      dropDb = db.drop;
      env = { DATABASE_URL: db.url };
    }
    await startUp();
  });
  afterAll(async () => {
    await up?.kill();
    await killLeftoverVmms(dir);
    await removeBridge(net.bridge);
    await dropDb?.().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('boots the first VM by itself', async () => {
    await up!.waitFor(/VM "hello" running in \d+ ms/, 120_000);
    const hello = await (await client()).call('getVm', { params: { id: 'hello' } });
    expect(hello.state).toBe('running');
  });

  it('loses no VM and finishes an interrupted stop', async () => {
    let c = await client();
    const keep = await c.call('createVm', { body: { name: `keep-${randomBytes(2).toString('hex')}` } });
    const halt = await c.call('createVm', { body: { name: 'halt' } });
    const vk = await c.call('waitVm', { params: { id: keep.id }, query: { state: 'running', timeout: 120 } });
    await c.call('waitVm', { params: { id: halt.id }, query: { state: 'running', timeout: 120 } });

    await c.call('stopVm', { params: { id: halt.id }, body: {} });
    await up!.kill('SIGKILL');
    expect(pidAlive(vk.pid!)).toBe(true);

    await startUp();
    c = await client();
    const vms = await c.all('listVms');
    expect(vms.map((v) => v.name).sort()).toEqual([keep.name, 'halt', 'hello'].sort());
    await up!.waitFor('VM "hello" exists (running)');
    const stopped = await c.call('waitVm', {
      params: { id: halt.id },
      query: { state: 'stopped', timeout: 90 },
    });
    expect(stopped.pid).toBeNull();
    const kept = await c.call('waitVm', {
      params: { id: keep.id },
      query: { state: 'running', timeout: 30 },
    });
    expect(kept.pid).toBe(vk.pid);
    expect(kept.ip).toBe(vk.ip);
    const events = await c.call('vmEvents', { params: { id: halt.id }, query: { limit: 100 } });
    expect(events.items.some((e) => e.to === 'stopped' && e.actor === 'reconciler')).toBe(true);

    await c.call('deleteVm', { params: { id: keep.id } });
    await c.call('deleteVm', { params: { id: halt.id } });
    await c.call('deleteVm', { params: { id: 'hello' } });
    await until('VMs deleted', async () => (await c.all('listVms')).length === 0, 60_000);
    expect(pidAlive(vk.pid!)).toBe(false);
  });
});
