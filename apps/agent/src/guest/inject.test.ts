import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shimTool } from '../../../../test/helpers/tool-shim.ts';
import { decodeConfigDisk, encodeConfigDisk } from './config-disk.ts';
import { injectAgent } from './inject.ts';
import { preparedImage } from './prepared-image.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-inject-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function image(name: string, files: Record<string, string>): string {
  const root = join(work, `${name}-root`);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), content);
  }
  mkdirSync(root, { recursive: true });
  const disk = join(work, `${name}.ext4`);
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', root, disk, '8M']);
  return disk;
}

const debugfs = (disk: string, req: string) =>
  execFileSync('debugfs', ['-R', req, disk], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();

describe('guest agent injection into ext4 images (debugfs, no mount)', () => {
  it('hooks the agent into a busybox inittab, once, and writes no configuration', async () => {
    const disk = image('busybox', { 'etc/inittab': '::sysinit:/etc/init.d/rcS\n' });
    const r = await injectAgent(disk, '/bin/true');
    expect(r).toEqual({ hasAgent: true, injected: true, reason: null });
    expect(debugfs(disk, 'stat /usr/sbin/hearth-guest')).toMatch(/Mode:\s+0755/);
    expect(debugfs(disk, 'cat /etc/inittab')).toBe(
      '::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/hearth-guest\n',
    );
    expect(debugfs(disk, 'stat /etc/hearth/guest.json')).not.toMatch(/Inode:/);
    const again = await injectAgent(disk, '/bin/true');
    expect(again).toEqual({ hasAgent: true, injected: false, reason: null });
    expect(debugfs(disk, 'cat /etc/inittab').match(/hearth-guest/g)).toHaveLength(1);
  });

  it('adds a systemd unit, enabled, on systemd images', async () => {
    const disk = image('systemd', { 'lib/systemd/systemd': '' });
    expect((await injectAgent(disk, '/bin/true')).injected).toBe(true);
    expect(debugfs(disk, 'cat /etc/systemd/system/hearth-guest.service')).toContain(
      'ExecStart=/usr/sbin/hearth-guest',
    );
    expect(debugfs(disk, 'stat /etc/systemd/system/multi-user.target.wants/hearth-guest.service')).toMatch(
      /Type: symlink/,
    );
  });

  it('says why when the image has no init it knows', async () => {
    const disk = image('bare', { 'bin/app': '' });
    const r = await injectAgent(disk, '/bin/true');
    expect(r.hasAgent).toBe(false);
    expect(r.reason).toMatch(/neither a busybox inittab nor systemd/);
  });

  it('boots images without an init with the agent as PID 1: the binary, no hooks', async () => {
    const disk = image('oci', { 'bin/app': '' });
    const r = await injectAgent(disk, '/bin/true', { asInit: true });
    expect(r).toEqual({ hasAgent: true, injected: true, reason: null });
    expect(debugfs(disk, 'stat /usr/sbin/hearth-guest')).toMatch(/Mode:\s+0755/);
    expect(debugfs(disk, 'stat /etc/inittab')).not.toMatch(/Inode:/);
  });

  it('runs debugfs as nobody on descriptors: the image and the files it writes, never their paths', async () => {
    // The work directory is root's (0700) and the agent binary private (0600): debugfs reaches
    // both only through what it is handed.
    const disk = image('private', { 'etc/inittab': '::sysinit:/etc/init.d/rcS\n' });
    const agent = join(work, 'private-agent');
    writeFileSync(agent, 'agent bytes', { mode: 0o600 });
    const shim = shimTool('debugfs');
    try {
      expect(await injectAgent(disk, agent)).toEqual({ hasAgent: true, injected: true, reason: null });
      const calls = shim.calls();
      expect(calls.some((c) => c.args.includes('-w'))).toBe(true);
      for (const c of calls) {
        expect(c).toMatchObject({ uid: 65534, groups: '65534', noNewPrivs: true });
        expect(c.args.at(-1)).toBe('/dev/fd/3');
        expect(c.args.join(' ')).not.toContain(work);
      }
    } finally {
      shim.dispose();
    }
    expect(debugfs(disk, 'cat /usr/sbin/hearth-guest')).toBe('agent bytes');
    expect(debugfs(disk, 'cat /etc/inittab')).toContain('::respawn:/usr/sbin/hearth-guest');
    expect(statSync(disk).uid).toBe(0);
  });

  it('refuses a disk that is not ext4', async () => {
    const junk = join(work, 'junk.img');
    writeFileSync(junk, Buffer.alloc(1024 * 1024));
    await expect(injectAgent(junk, '/bin/true')).rejects.toThrow();
  });
});

describe('prepared images', () => {
  it('injects into a cached copy once per image and agent, and leaves the image alone', async () => {
    const img = image('prep', { 'etc/inittab': '::sysinit:/etc/init.d/rcS\n' });
    const before = readFileSync(img);
    const cache = join(work, 'prepared');
    const agent = join(work, 'agent-v1');
    writeFileSync(agent, 'v1');
    const a = await preparedImage(cache, img, agent);
    expect(a).toMatchObject({ hasAgent: true, injected: true });
    expect(a.path).not.toBe(img);
    expect(readFileSync(img).equals(before)).toBe(true);
    expect(debugfs(a.path, 'cat /usr/sbin/hearth-guest')).toBe('v1');
    // Cached: the same copy, not rewritten.
    const mtime = statSync(a.path).mtimeMs;
    expect(await preparedImage(cache, img, agent)).toEqual(a);
    expect(statSync(a.path).mtimeMs).toBe(mtime);
    // A new agent binary is a new key.
    const agent2 = join(work, 'agent-v2');
    writeFileSync(agent2, 'v2');
    const b = await preparedImage(cache, img, agent2);
    expect(b.path).not.toBe(a.path);
    expect(debugfs(b.path, 'cat /usr/sbin/hearth-guest')).toBe('v2');
  });

  it('uses an image that carries the agent as it is', async () => {
    const img = image('baked', { 'usr/sbin/hearth-guest': 'baked', 'etc/inittab': '' });
    const r = await preparedImage(join(work, 'prepared'), img, '/bin/true');
    expect(r).toEqual({ hasAgent: true, injected: false, reason: null, path: img });
  });
});

describe('config disk', () => {
  it('is the magic, a big-endian length and the JSON, in whole 4 KiB blocks', () => {
    const config = { secret: 'abc', hostname: 'h1', users: [], env: { A: 'x'.repeat(5000) } };
    const buf = encodeConfigDisk(config);
    expect(buf.length % 4096).toBe(0);
    expect(buf.subarray(0, 8).toString('latin1')).toBe('HEARTHC1');
    expect(buf.readUInt32BE(8)).toBe(JSON.stringify(config).length);
    expect(decodeConfigDisk(buf)).toEqual(config);
    expect(decodeConfigDisk(Buffer.from('not a config disk'))).toBeNull();
  });
});
