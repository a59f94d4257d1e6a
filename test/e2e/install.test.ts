import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS } from '@hearth/agent/defaults';
import { HEARTH_VERSION } from '@hearth/cli/version';
import { loadHostConfig } from '@hearth/cli/host-config';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pidAlive, until } from '../helpers/vm.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = (cmd: string, args: string[], opts: { cwd?: string } = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });

/** systemd-analyze verify: its exit code and everything it said (it exits 0 on some bad lines). */
function verify(unit: string): { code: number; said: string } {
  try {
    const out = execFileSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, said: out };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, said: err.stdout + err.stderr };
  }
}

let dir: string;
let installed: string;

/** Installs the release tarball into a prefix the way docs/install.md says, without any registry. */
const installRelease = (tarball: string, prefix: string) =>
  run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-install-'));
  // The release the repo builds, installed the way docs/install.md says, without any registry.
  run(process.execPath, [join(ROOT, 'scripts/release.mjs')], { cwd: ROOT });
  const tarball = join(ROOT, 'release', `hearth-${HEARTH_VERSION}.tgz`);
  installRelease(tarball, join(dir, 'usr'));
  installed = join(dir, 'usr/bin/hearth');
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the release tarball installed with npm install -g', () => {
  it('puts a `hearth` on the PATH that runs from the install', () => {
    expect(run(installed, ['--version']).trim()).toBe(HEARTH_VERSION);
    // It runs the install's own bundle, not this checkout's.
    const target = run('readlink', ['-f', installed]).trim();
    expect(target.startsWith(join(dir, 'usr'))).toBe(true);
  });

  it('`hearth install manager|agent` writes units systemd-analyze verify accepts, and a valid config', async () => {
    const prefix = join(dir, 'root');
    // --dry-run writes nothing.
    const dry = run(installed, ['install', 'agent', '--prefix', prefix, '--dry-run']);
    expect(dry).toContain('KillMode=process');
    expect(existsSync(prefix)).toBe(false);

    for (const role of ['manager', 'agent'] as const) run(installed, ['install', role, '--prefix', prefix]);
    const units = join(prefix, 'etc/systemd/system');
    for (const role of ['manager', 'agent']) {
      const unit = join(units, `hearth-${role}.service`);
      const v = verify(unit);
      expect(v, `${role}: ${v.said}`).toEqual({ code: 0, said: '' });
      const text = await readFile(unit, 'utf8');
      expect(text).toMatch(
        new RegExp(
          `^ExecStart=${process.execPath} .*${join(dir, 'usr')}.* ${role} --config ${join(prefix, 'etc/hearth/hearth.yaml')}$`,
          'm',
        ),
      );
    }
    // Only the agent keeps its children (the VMMs) alive across its own restarts.
    expect(await readFile(join(units, 'hearth-agent.service'), 'utf8')).toMatch(/^KillMode=process$/m);
    expect(await readFile(join(units, 'hearth-manager.service'), 'utf8')).not.toContain('KillMode');
    // And starts with the environment `hearth up` gives its agent (malloc's large-block threshold).
    expect(await readFile(join(units, 'hearth-agent.service'), 'utf8')).toMatch(
      /^Environment=MALLOC_MMAP_THRESHOLD_=131072$/m,
    );

    // The configuration written is valid, and an operator's edits survive the next install.
    const config = join(prefix, 'etc/hearth/hearth.yaml');
    expect((await loadHostConfig({ path: config, env: {} })).agent.manager).toBe('http://127.0.0.1:18080');
    await writeFile(config, 'manager:\n  port: 9999\n');
    run(installed, ['install', 'agent', '--prefix', prefix]);
    expect(await readFile(config, 'utf8')).toBe('manager:\n  port: 9999\n');

    // The check itself can fail: a unit whose command is not there is refused.
    const broken = join(dir, 'broken.service');
    await writeFile(
      broken,
      (await readFile(join(units, 'hearth-agent.service'), 'utf8')).replace(
        process.execPath,
        '/nonexistent/node',
      ),
    );
    expect(verify(broken).code).not.toBe(0);
  });
});

/**
 * An upgrade restarts the agent through systemd; with KillMode=process systemd sends SIGTERM to
 * the agent process alone. Stood in for here (systemd is not PID 1 on the test machine): the
 * installed agent gets SIGTERM while a VM runs, and the next agent, from a fresh install of the
 * release, adopts the VM, which never stopped.
 */
describe('upgrade: the agent restarts without stopping its VMs', () => {
  let p: Platform;
  let agent: ChildProcess | null = null;
  let output = '';
  const startInstalledAgent = (bin: string) => {
    output = '';
    agent = spawn(
      process.execPath,
      [
        ...AGENT_NODE_FLAGS,
        bin,
        '--data-dir',
        p.dir,
        'agent',
        '--manager',
        p.manager.url,
        '--port',
        '0',
        '--name',
        `upgrade-${p.net.bridge}`,
        '--bridge',
        p.net.bridge,
        '--cidr',
        p.net.cidr,
      ],
      {
        env: {
          ...process.env,
          HEARTH_JOIN_TOKEN: p.manager.joinToken,
          HEARTH_CONFIG: join(dir, 'none.yaml'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    agent.stdout!.on('data', (d) => (output += d));
    agent.stderr!.on('data', (d) => (output += d));
  };
  const stopAgent = async (signal: NodeJS.Signals) => {
    const a = agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    const exited = new Promise((r) => a.once('exit', r));
    a.kill(signal);
    await exited;
  };

  beforeAll(async () => {
    p = await startPlatform({ agent: false });
    // An empty configuration file: the flags and the environment decide.
    await writeFile(join(dir, 'none.yaml'), '');
  });
  afterAll(async () => {
    await stopAgent('SIGKILL');
    await p?.dispose();
  });

  it('keeps the VM running across SIGTERM of the installed agent and a reinstall', async () => {
    startInstalledAgent(join(dir, 'usr/lib/node_modules/hearth/bin/hearth.mjs'));
    await until('installed agent registered', () => output.includes('agent registered'), 120_000);
    const created = await p.client.call('createVm', { body: { name: 'survivor' } });
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 180 },
    });
    expect(pidAlive(vm.pid!)).toBe(true);

    await stopAgent('SIGTERM');
    expect(pidAlive(vm.pid!)).toBe(true);
    // The new version goes in while the agent is down, as `hearth upgrade` does.
    const tarball = join(ROOT, 'release', `hearth-${HEARTH_VERSION}.tgz`);
    installRelease(tarball, join(dir, 'usr2'));
    startInstalledAgent(join(dir, 'usr2/lib/node_modules/hearth/bin/hearth.mjs'));
    await until('upgraded agent registered', () => output.includes('agent registered'), 120_000);

    const after = await p.client.call('getVm', { params: { id: created.id } });
    expect(after.state).toBe('running');
    expect(after.pid).toBe(vm.pid);
    // Adopted, not just left alone: the new agent controls it through its QMP socket.
    await p.client.call('pauseVm', { params: { id: created.id } });
    await p.client.call('waitVm', { params: { id: created.id }, query: { state: 'paused', timeout: 60 } });
    await p.client.call('resumeVm', { params: { id: created.id } });
    await p.client.call('waitVm', { params: { id: created.id }, query: { state: 'running', timeout: 60 } });
  });
});
