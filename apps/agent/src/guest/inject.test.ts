import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { injectGuest } from './inject.ts';

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

const config = { secret: 'abc', hostname: 'h1', users: [], env: {} };

describe('guest injection into ext4 images (debugfs, no mount)', () => {
  it('writes the boot config with mode 0600 and hooks the agent into a busybox inittab', async () => {
    const disk = image('busybox', { 'etc/inittab': '::sysinit:/etc/init.d/rcS\n' });
    const r = await injectGuest(disk, config, '/bin/true');
    expect(r).toEqual({ hasAgent: true, injected: true, reason: null });
    expect(JSON.parse(debugfs(disk, 'cat /etc/hearth/guest.json'))).toEqual(config);
    expect(debugfs(disk, 'stat /etc/hearth/guest.json')).toMatch(/Mode:\s+0600/);
    expect(debugfs(disk, 'stat /usr/sbin/hearth-guest')).toMatch(/Mode:\s+0755/);
    expect(debugfs(disk, 'cat /etc/inittab')).toBe(
      '::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/hearth-guest\n',
    );
    // A second boot rewrites the config and does not inject twice.
    const again = await injectGuest(disk, { ...config, secret: 'def' }, '/bin/true');
    expect(again.injected).toBe(false);
    expect(JSON.parse(debugfs(disk, 'cat /etc/hearth/guest.json')).secret).toBe('def');
    expect(debugfs(disk, 'cat /etc/inittab').match(/hearth-guest/g)).toHaveLength(1);
  });

  it('adds a systemd unit, enabled, on systemd images', async () => {
    const disk = image('systemd', { 'lib/systemd/systemd': '' });
    expect((await injectGuest(disk, config, '/bin/true')).injected).toBe(true);
    expect(debugfs(disk, 'cat /etc/systemd/system/hearth-guest.service')).toContain(
      'ExecStart=/usr/sbin/hearth-guest',
    );
    expect(debugfs(disk, 'stat /etc/systemd/system/multi-user.target.wants/hearth-guest.service')).toMatch(
      /Type: symlink/,
    );
  });

  it('says why when the image has no init it knows', async () => {
    const disk = image('bare', { 'bin/app': '' });
    const r = await injectGuest(disk, config, '/bin/true');
    expect(r.hasAgent).toBe(false);
    expect(r.reason).toMatch(/neither a busybox inittab nor systemd/);
  });

  it('boots images without an init with the agent as PID 1: binary and app config, no hooks', async () => {
    const disk = image('oci', { 'bin/app': '' });
    const app = { argv: ['/bin/app'], env: ['A=1'], workdir: '/', user: '', restart: 'no' as const };
    const r = await injectGuest(disk, { ...config, app }, '/bin/true', { asInit: true });
    expect(r).toEqual({ hasAgent: true, injected: true, reason: null });
    expect(debugfs(disk, 'stat /usr/sbin/hearth-guest')).toMatch(/Mode:\s+0755/);
    expect(JSON.parse(debugfs(disk, 'cat /etc/hearth/guest.json')).app).toEqual(app);
    expect(debugfs(disk, 'stat /etc/inittab')).not.toMatch(/Inode:/);
  });

  it('refuses a disk that is not ext4', async () => {
    const junk = join(work, 'junk.img');
    writeFileSync(junk, Buffer.alloc(1024 * 1024));
    await expect(injectGuest(junk, config, '/bin/true')).rejects.toThrow();
  });
});
