import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configKeys, ENV_OF } from '@hearth/contract/host-config';
import { cli, CLI_ENV } from '../../../test/helpers/proc.ts';
import { loadHostConfig } from './host-config.ts';
import { prettyLine } from './host-log.ts';

let dir: string;
const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the host configuration file', () => {
  it('refuses an unknown key with its path, and every other bad key with its path and variable', async () => {
    const path = await file(
      'bad.yaml',
      'manager:\n  prot: 8080\n  network:\n    cidr: 10.0.0.0\nagent:\n  port: seventy\n',
    );
    let message = '';
    try {
      await loadHostConfig({ path, env: {} });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(path);
    expect(message).toContain('manager.prot: unknown key');
    expect(message).toContain('manager.network.cidr (HEARTH_CIDR)');
    expect(message).toContain('agent.port (HEARTH_AGENT_PORT)');
  });

  it('layers defaults < file < environment < flags', async () => {
    const path = await file(
      'good.yaml',
      'dataDir: /srv/hearth\nmanager:\n  port: 9000\n  listen: 0.0.0.0\n  insecureRegistries: [a:5000]\nagent:\n  ksm: true\n',
    );
    const fromFile = await loadHostConfig({ path, env: {} });
    expect(fromFile.source).toBe(path);
    expect(fromFile.manager.port).toBe(9000);
    expect(fromFile.manager.network).toEqual({ enabled: true, bridge: 'hearth0', cidr: '10.213.0.0/24' });
    expect(fromFile.agent.ksm).toBe(true);
    expect(fromFile.manager.insecureRegistries).toEqual(['a:5000']);
    const env = { HEARTH_PORT: '9100', HEARTH_AGENT_KSM: '0', HEARTH_INSECURE_REGISTRIES: 'b:1,c:2' };
    const fromEnv = await loadHostConfig({ path, env });
    expect(fromEnv.manager.port).toBe(9100);
    expect(fromEnv.manager.listen).toBe('0.0.0.0');
    expect(fromEnv.agent.ksm).toBe(false);
    expect(fromEnv.manager.insecureRegistries).toEqual(['b:1', 'c:2']);
    const fromFlags = await loadHostConfig({
      path,
      env,
      flags: { 'manager.port': '9200', dataDir: undefined },
    });
    expect(fromFlags.manager.port).toBe(9200);
    expect(fromFlags.dataDir).toBe('/srv/hearth');
  });

  it('uses the defaults when the default file is absent, and refuses a named file that is missing', async () => {
    const cfg = await loadHostConfig({ env: { HEARTH_CONFIG: '' } });
    // /etc/hearth/hearth.yaml does not exist on the test machine (installs in tests use --prefix).
    expect(cfg.source).toBeNull();
    expect(cfg.manager.port).toBe(18080);
    expect(cfg.dataDir).toBe('/var/lib/hearth');
    await expect(loadHostConfig({ path: join(dir, 'missing.yaml'), env: {} })).rejects.toThrow(
      /missing\.yaml/,
    );
    await expect(loadHostConfig({ env: { HEARTH_CONFIG: join(dir, 'nope.yaml') } })).rejects.toThrow(
      /nope\.yaml/,
    );
  });

  it('names the line of a YAML syntax error, and the variable of a bad environment value', async () => {
    const path = await file('syntax.yaml', 'manager:\n  port: 1\n   listen: x\n');
    await expect(loadHostConfig({ path, env: {} })).rejects.toThrow(/not valid YAML at line \d/);
    const empty = await file('empty.yaml', '# nothing\n');
    await expect(loadHostConfig({ path: empty, env: { HEARTH_LOG_LEVEL: 'loud' } })).rejects.toThrow(
      /log\.level \(HEARTH_LOG_LEVEL\)/,
    );
  });

  it('has one environment variable per key, and docs/install.md lists every key and variable', async () => {
    const keys = configKeys();
    expect(keys.sort()).toEqual(Object.keys(ENV_OF).sort());
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../../docs/install.md', import.meta.url), 'utf8');
    for (const k of keys) {
      expect(doc, k).toContain(`\`${k}\``);
      expect(doc, ENV_OF[k]).toContain(`\`${ENV_OF[k]}\``);
    }
  });

  it('`hearth manager` stops at a bad key before starting anything, naming the file and the path', async () => {
    const path = await file('cli-bad.yaml', 'manager:\n  databseUrl: postgres://x\n');
    const r = await cli(['manager', '--config', path], { ...CLI_ENV, HEARTH_DATA_DIR: join(dir, 'data') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toContain('manager.databseUrl: unknown key');
  });
});

describe('log lines on a terminal', () => {
  it('turns a JSON record into one readable line and passes anything else through', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      pid: 1,
      hostname: 'h',
      service: 'manager',
      component: 'vms',
      msg: 'VM operation failed',
      vm: 'vm_1',
      reason: 'no space left',
    });
    expect(prettyLine(line)).toBe(
      '03:04:05.006 WARN  manager/vms: VM operation failed vm=vm_1 reason="no space left"\n',
    );
    expect(prettyLine('not json\n')).toBe('not json\n');
  });
});
