import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image, Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli } from '../helpers/proc.ts';

// Each runtime as vmsan names it, created with `hearth create --runtime X` (the image built on first
// use), its interpreter run in the guest; one real VM at a time.
const CASES: { runtime: string; cmd: string[]; out: RegExp }[] = [
  { runtime: 'node22', cmd: ['node', '--version'], out: /^v22\.\d+\.\d+\n$/ },
  { runtime: 'node24', cmd: ['node', '--version'], out: /^v24\.\d+\.\d+\n$/ },
  {
    runtime: 'python3.13',
    // ssl and sqlite3 load the extension modules' libraries (libssl, libsqlite3) from the image.
    cmd: ['python3.13', '-c', 'import sys, ssl, sqlite3; print(sys.version)'],
    out: /^3\.13\.\d+ /,
  },
  { runtime: 'ruby', cmd: ['ruby', '-e', 'require "json"; puts RUBY_VERSION'], out: /^3\.3\.\d+\n$/ },
];

describe('runtimes: base, node22, node24, python3.13, ruby (and the python3 alias)', () => {
  let p: Platform;
  let env: Record<string, string>;
  const run = (...args: string[]) => cli(args, env);
  const image = (id: string): Promise<Image> => p.client.call('getImage', { params: { id } });

  beforeAll(async () => {
    p = await startPlatform();
    env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  }, 120_000);
  afterAll(async () => {
    await p?.dispose();
  });

  for (const c of CASES) {
    it(`create --runtime ${c.runtime} runs its interpreter in the guest`, async () => {
      const name = `rt-${c.runtime.replace('.', '-')}`;
      const t0 = Date.now();
      // A first build and a boot under emulation on a busy machine can outlast the CLI's default 300 s.
      const r = await run(
        '--json',
        'create',
        '--name',
        name,
        '--runtime',
        c.runtime,
        '--memory',
        '256',
        '--wait-timeout',
        '1200',
      );
      expect(r.code, r.stderr).toBe(0);
      const created = Date.now();
      const vm = JSON.parse(r.stdout) as Vm;
      const v = await run('exec', name, '--', ...c.cmd);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(c.out);
      const img = await image(`runtime-${c.runtime}`);
      expect(img.id).toBe(vm.image);
      console.log(
        `runtime ${c.runtime}: ${v.stdout.trim().split('\n')[0]}; image ${(img.sizeBytes / 2 ** 20).toFixed(0)} MiB ` +
          `(${String(img.meta.version)}); create incl. any first build ${created - t0} ms`,
      );
      expect((await run('rm', name)).code).toBe(0);
    }, 1_500_000);
  }

  it('the python3 alias names python3.13, base names the base image, an unknown name is refused', async () => {
    const alias = await run('--json', 'create', '--name', 'rt-alias', '--runtime', 'python3', '--no-start');
    expect(alias.code, alias.stderr).toBe(0);
    const py = await image('runtime-python3.13');
    expect((JSON.parse(alias.stdout) as Vm).image).toBe(py.id);
    // The API takes the alias's image name too.
    const api = await p.client.call('createVm', {
      body: { name: 'rt-alias-api', image: 'runtime-python3', start: false },
    });
    expect(api.image).toBe(py.id);

    const base = await run('--json', 'create', '--name', 'rt-base', '--runtime', 'base', '--no-start');
    expect(base.code, base.stderr).toBe(0);
    const baseImg = await image('base');
    expect((JSON.parse(base.stdout) as Vm).image).toBe(baseImg.id);

    const bad = await run('create', '--runtime', 'cobol');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--runtime cobol is unknown; use one of base, node22, node24, python3.13, ruby',
    );
  }, 120_000);
});
