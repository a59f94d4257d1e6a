import { afterEach, describe, expect, it } from 'vitest';
import { readFile, readlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { HearthError } from '@hearth/contract';
import { installDependencies, packFolder, stageCode, type StagedCode } from './code.ts';

/** A raw tar built entry by entry, so that entries tar itself would never write can be made. */
function rawTar(entries: { path: string; type?: string; body?: string; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = new tar.Header({
      path: e.path,
      type: (e.type ?? 'File') as never,
      size: e.type && e.type !== 'File' ? 0 : body.length,
      mode: 0o644,
      mtime: new Date(0),
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    blocks.push(block);
    if (body.length && (!e.type || e.type === 'File')) {
      blocks.push(Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const b64 = (b: Buffer) => b.toString('base64');

describe('function code staging', () => {
  const staged: StagedCode[] = [];
  afterEach(async () => {
    for (const s of staged.splice(0)) await s.dispose();
  });
  const stage = async (code: Parameters<typeof stageCode>[0]) => {
    const s = await stageCode(code);
    staged.push(s);
    return s;
  };
  const refused = async (archive: Buffer, entry: string | null) => {
    const e = await stageCode({ archive: b64(archive) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HearthError);
    expect((e as HearthError).code).toBe('FUNCTION_ARCHIVE_INVALID');
    expect((e as HearthError).detail).toEqual({ entry });
    return e as HearthError;
  };

  it('writes inline files, folders included', async () => {
    const s = await stage({ files: { 'index.js': 'exports.handler = 1', 'lib/util.js': 'x' } });
    expect(await readFile(join(s.dir, 'lib/util.js'), 'utf8')).toBe('x');
    expect(s.files).toEqual({ 'index.js': 'exports.handler = 1', 'lib/util.js': 'x' });
  });

  it('unpacks a .tar.gz with an inner link; keeps the sources but not node_modules', async () => {
    const archive = gzipSync(
      rawTar([
        { path: 'app/', type: 'Directory' },
        { path: 'app/main.py', body: 'def handler(e, c): return 1\n' },
        { path: 'node_modules/dep/index.js', body: 'module.exports = 1' },
        { path: 'current', type: 'SymbolicLink', linkpath: 'app/main.py' },
      ]),
    );
    const s = await stage({ archive: b64(archive) });
    expect(await readFile(join(s.dir, 'app/main.py'), 'utf8')).toContain('def handler');
    expect(await readlink(join(s.dir, 'current'))).toBe('app/main.py');
    expect(Object.keys(s.files)).toEqual(['app/main.py']);
  });

  it('refuses .. paths, absolute paths, links out of the folder and devices, naming the entry', async () => {
    await refused(rawTar([{ path: '../evil.js', body: 'x' }]), '../evil.js');
    await refused(rawTar([{ path: 'a/../../evil.js', body: 'x' }]), 'a/../../evil.js');
    await refused(rawTar([{ path: '/etc/cron.d/x', body: 'x' }]), '/etc/cron.d/x');
    const out = await refused(
      gzipSync(rawTar([{ path: 'lib', type: 'SymbolicLink', linkpath: '../../etc' }])),
      'lib',
    );
    expect(out.message).toContain('links out of the folder');
    await refused(rawTar([{ path: 'x', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), 'x');
    await refused(rawTar([{ path: 'dev', type: 'CharacterDevice' }]), 'dev');
  });

  it('packs a staged folder back into a tar stream with every file', async () => {
    const s = await stage({ files: { 'index.js': 'one', 'lib/two.js': 'two' } });
    const seen: Record<string, string> = {};
    const parser = new tar.Parser({
      onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => {
          if (e.type === 'File') seen[e.path] = Buffer.concat(chunks).toString();
        });
      },
    });
    const done = new Promise<void>((res, rej) => {
      parser.on('close', () => res());
      parser.on('error', rej);
    });
    for await (const c of packFolder(s.dir)) parser.write(c as Buffer);
    parser.end();
    await done;
    expect(seen).toEqual({ './index.js': 'one', './lib/two.js': 'two' });
  });

  it('refuses bytes that are not a tar archive', async () => {
    await refused(Buffer.from('PK\u0003\u0004 not a tarball at all, a zip perhaps'.repeat(20)), null);
  });

  // npm itself, from its cache: `ms` is in this repository's lockfile, so `npm ci` put it there.
  // The registry is a closed port on loopback, so nothing here can reach the network.
  const OFFLINE = { registry: 'http://127.0.0.1:9/' };
  const msVersion = (createRequire(import.meta.url)('ms/package.json') as { version: string }).version;
  const lockFor = (version: string, integrity: string) =>
    JSON.stringify({
      name: 'fn',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'fn', dependencies: { ms: version } },
        'node_modules/ms': {
          version,
          resolved: `https://registry.npmjs.org/ms/-/ms-${version}.tgz`,
          integrity,
        },
      },
    });

  it('installs node22 dependencies a lockfile pins, with npm, into node_modules', async () => {
    const root = JSON.parse(
      await readFile(new URL('../../../../../package-lock.json', import.meta.url), 'utf8'),
    ) as {
      packages: Record<string, { version: string; integrity: string }>;
    };
    const ms = root.packages['node_modules/ms']!;
    expect(ms.version).toBe(msVersion);
    const s = await stage({
      files: {
        'index.js': "const ms = require('ms'); exports.handler = async () => ms('2h');",
        'package.json': JSON.stringify({ name: 'fn', dependencies: { ms: ms.version } }),
        'package-lock.json': lockFor(ms.version, ms.integrity),
      },
    });
    await installDependencies('node22', s.dir, OFFLINE);
    const installed = JSON.parse(await readFile(join(s.dir, 'node_modules/ms/package.json'), 'utf8')) as {
      version: string;
    };
    expect(installed.version).toBe(ms.version);
    // Other runtimes vendor their dependencies: nothing runs.
    expect(await installDependencies('python3.13', s.dir, OFFLINE)).toBeNull();
  });

  it("fails with npm's own message when a dependency cannot be had", async () => {
    const s = await stage({
      files: {
        'index.js': 'exports.handler = async () => 1;',
        'package.json': JSON.stringify({
          name: 'fn',
          dependencies: { 'hearth-no-such-package-x9': '1.0.0' },
        }),
      },
    });
    // npm retries a registry that does not answer for a minute by default; once is enough here.
    const retries = process.env.npm_config_fetch_retries;
    process.env.npm_config_fetch_retries = '0';
    const e = await installDependencies('node22', s.dir, OFFLINE)
      .catch((x: Error) => x)
      .finally(() => {
        if (retries === undefined) delete process.env.npm_config_fetch_retries;
        else process.env.npm_config_fetch_retries = retries;
      });
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(
      /^npm install of the package.json dependencies failed:\n.*npm (error|ERR)/s,
    );
  });
});
