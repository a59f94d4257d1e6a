import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shimTool } from '../../../../test/helpers/tool-shim.ts';
import { buildExt4, detectInit, isExt4 } from './ext4.ts';
import { registryError } from './oci-import.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-ext4-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ext4 images without mounts', () => {
  it('builds from a directory (mke2fs -d), recognises ext4 and how its init starts the agent', async () => {
    const root = join(work, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'bin'), { recursive: true });
    writeFileSync(join(root, 'bin', 'app'), 'x'.repeat(100_000));
    symlinkSync('app', join(root, 'bin', 'link'));
    const out = join(work, 'a.ext4');
    await buildExt4(root, out);
    expect(await isExt4(out)).toBe(true);
    expect(await detectInit(out)).toBe('hearth-guest');
    expect(execFileSync('debugfs', ['-R', 'stat /bin/link', out], { stdio: 'pipe' }).toString()).toMatch(
      /Type: symlink/,
    );
    writeFileSync(join(root, 'etc', 'inittab'), '::sysinit:/bin/app\n');
    await buildExt4(root, join(work, 'b.ext4'));
    expect(await detectInit(join(work, 'b.ext4'))).toBe('inittab');
    const junk = join(work, 'junk');
    writeFileSync(junk, Buffer.alloc(4096));
    expect(await isExt4(junk)).toBe(false);
  });
});

describe('registry failures map to the catalogue', () => {
  it.each([
    ['reading manifest nope in r/x: manifest unknown: manifest unknown', 'IMAGE_SOURCE_NOT_FOUND'],
    // Docker Hub answers so for a private repository and for one that does not exist alike.
    ['requested access to the resource is denied: unauthorized', 'REGISTRY_AUTH_FAILED'],
    [
      'unable to retrieve auth token: invalid username/password: unauthorized: authentication required',
      'REGISTRY_AUTH_FAILED',
    ],
    ['reading manifest v1 in r/x: StatusCode: 403, "<html>…"', 'REGISTRY_AUTH_FAILED'],
    ['received unexpected HTTP status: 401 Unauthorized', 'REGISTRY_AUTH_FAILED'],
    [
      'pinging container registry r: dial tcp 127.0.0.1:1: connect: connection refused',
      'IMAGE_SOURCE_UNREACHABLE',
    ],
    ['dial tcp: lookup nowhere.invalid: no such host', 'IMAGE_SOURCE_UNREACHABLE'],
    ['http: server gave HTTP response to HTTPS client', 'IMAGE_SOURCE_UNREACHABLE'],
    ['writing blob: disk quota exceeded', 'IMAGE_IMPORT_FAILED'],
  ])('%s → %s', (stderr, code) => {
    const e = registryError('Pulling x', 'x', `time="…" level=fatal msg="${stderr}"`);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(/^Pulling x failed: /);
    expect(e.detail).toMatchObject({ stderr: expect.stringContaining(stderr) });
  });

  it('reads an imported image with debugfs as nobody, on a read-only descriptor, never by its path', async () => {
    const root = join(work, 'systemd-root');
    mkdirSync(join(root, 'lib', 'systemd'), { recursive: true });
    writeFileSync(join(root, 'lib', 'systemd', 'systemd'), '');
    // The image sits in a directory only root can enter (the manager's image store is 0700).
    const img = join(work, 'systemd.ext4');
    await buildExt4(root, img);
    const debugfs = shimTool('debugfs');
    try {
      expect(await detectInit(img)).toBe('systemd');
      const calls = debugfs.calls();
      expect(calls.length).toBeGreaterThan(0);
      for (const c of calls) {
        expect(c).toMatchObject({ uid: 65534, groups: '65534', noNewPrivs: true });
        expect(c.args.at(-1)).toBe('/dev/fd/3');
        expect(c.args).not.toContain(img);
      }
    } finally {
      debugfs.dispose();
    }
  });
});
