import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../helpers/expect.ts';
import { sha256, useGuestVm } from '../helpers/guest-vm.ts';
import { until } from '../helpers/vm.ts';
import { openTerminal } from '../helpers/ws.ts';

// Files, transfers, metrics streams and an agent restart through the guest agent, on one VM shared
// by the file's tests (the restart comes last).

const g = useGuestVm();

describe('files through the guest agent (real VM)', () => {
  it('round-trips a file byte for byte, with its mode', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));
    const up = await g.p.client.raw(
      'uploadFile',
      { params: { id: g.vm.id }, query: { path: '/home/alice/data.bin', mode: '0640' } },
      { body: data, headers: { 'content-type': 'application/octet-stream' } },
    );
    expect(await up.json()).toMatchObject({ path: '/home/alice/data.bin', bytes: data.length });
    const stat = await g.p.client.call('statFile', {
      params: { id: g.vm.id },
      query: { path: '/home/alice/data.bin' },
    });
    expect(stat).toMatchObject({ type: 'file', size: data.length, mode: 0o640 });
    const inGuest = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: 'sha256sum /home/alice/data.bin' },
    });
    expect(inGuest.stdout.split(' ')[0]).toBe(sha256(data));
    const down = await g.p.client.raw('downloadFile', {
      params: { id: g.vm.id },
      query: { path: '/home/alice/data.bin' },
    });
    expect(down.headers.get('x-hearth-file-kind')).toBe('file');
    expect(sha256(Buffer.from(await down.arrayBuffer()))).toBe(sha256(data));
    // A tiny file arrives with its metadata, data and end in one read: none of it may be lost.
    for (let i = 0; i < 20; i++) {
      const small = await g.p.client.raw('downloadFile', {
        params: { id: g.vm.id },
        query: { path: '/etc/hostname' },
      });
      expect(await small.text()).toBe('guest-e2e\n');
    }
  });

  it('round-trips a directory as tar', async () => {
    const src = join(g.p.dir, 'tree');
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'sub', 'deeper', 'b.bin'), Buffer.alloc(100_000, 0xab));
    const archive = execFileSync('tar', ['-C', src, '-cf', '-', '.']);
    const up = await g.p.client.raw(
      'uploadFile',
      { params: { id: g.vm.id }, query: { path: '/srv/tree', format: 'tar' } },
      { body: archive, headers: { 'content-type': 'application/x-tar' } },
    );
    expect(up.status).toBe(200);
    const list = await g.p.client.call('listFiles', {
      params: { id: g.vm.id },
      query: { path: '/srv/tree', depth: 3 },
    });
    expect(list.entries.map((e) => e.path).sort()).toEqual([
      '/srv/tree/a.txt',
      '/srv/tree/sub',
      '/srv/tree/sub/deeper',
      '/srv/tree/sub/deeper/b.bin',
    ]);
    const down = await g.p.client.raw('downloadFile', {
      params: { id: g.vm.id },
      query: { path: '/srv/tree' },
    });
    expect(down.headers.get('content-type')).toMatch(/x-tar/);
    const dst = join(g.p.dir, 'tree-back');
    mkdirSync(dst);
    execFileSync('tar', ['-C', dst, '-xf', '-'], { input: Buffer.from(await down.arrayBuffer()) });
    for (const f of ['a.txt', 'sub/deeper/b.bin']) {
      expect(sha256(readFileSync(join(dst, f)))).toBe(sha256(readFileSync(join(src, f))));
    }
  });

  it('makes, moves and removes paths', async () => {
    await g.p.client.call('makeDir', { params: { id: g.vm.id }, body: { path: '/srv/x/y' } });
    await g.p.client.call('moveFile', {
      params: { id: g.vm.id },
      body: { from: '/srv/x/y', to: '/srv/x/z' },
    });
    expect(
      (await g.p.client.call('statFile', { params: { id: g.vm.id }, query: { path: '/srv/x/z' } })).type,
    ).toBe('dir');
    const notEmpty = await expectCode(
      () => g.p.client.call('removeFile', { params: { id: g.vm.id }, query: { path: '/srv/x' } }),
      'VALIDATION_FAILED',
      400,
    );
    expect(notEmpty.message).toMatch(/not empty/);
    await g.p.client.call('removeFile', {
      params: { id: g.vm.id },
      query: { path: '/srv/x', recursive: 'true' },
    });
    await expectCode(
      () => g.p.client.call('statFile', { params: { id: g.vm.id }, query: { path: '/srv/x' } }),
      'GUEST_PATH_NOT_FOUND',
      404,
    );
  });

  it('refuses path escapes, in paths and inside archives, leaving nothing behind', async () => {
    await expectCode(
      () => g.p.client.call('statFile', { params: { id: g.vm.id }, query: { path: '/tmp/../etc/shadow' } }),
      'VALIDATION_FAILED',
      400,
    );
    const evil = join(g.p.dir, 'evil');
    mkdirSync(join(evil, 'inner'), { recursive: true });
    writeFileSync(join(evil, 'ok.txt'), 'fine');
    writeFileSync(join(evil, 'escaped.txt'), 'bad');
    const archive = execFileSync('tar', [
      '-P',
      '-C',
      join(evil, 'inner'),
      '-cf',
      '-',
      '../ok.txt',
      '../escaped.txt',
    ]);
    const e = await expectCode(
      () =>
        g.p.client.raw(
          'uploadFile',
          { params: { id: g.vm.id }, query: { path: '/srv/evil', format: 'tar' } },
          { body: archive, headers: { 'content-type': 'application/x-tar' } },
        ),
      'GUEST_PATH_INVALID',
      400,
    );
    expect(e.message).toMatch(/\.\./);
    const check = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: 'ls /srv/escaped.txt /srv/ok.txt /srv/evil 2>&1; true' },
    });
    expect(check.stdout).not.toMatch(/^\/srv\/(escaped|ok)\.txt$/m);
  });

  it('refuses an upload over the size limit', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 1);
    await expectCode(
      () =>
        g.p.client.raw(
          'uploadFile',
          { params: { id: g.vm.id }, query: { path: '/tmp/too-big' } },
          { body: big, headers: { 'content-type': 'application/octet-stream' } },
        ),
      'PAYLOAD_TOO_LARGE',
      413,
    );
  });
});

describe('guest metrics and agent restarts (real VM)', () => {
  it('reports guest metrics and info', async () => {
    const m = await g.p.client.call('vmMetrics', { params: { id: g.vm.id } });
    expect(m.memory.totalBytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(m.processes).toBeGreaterThan(3);
    expect(m.uptimeSec).toBeGreaterThan(0);
    expect(m.disk.totalBytes).toBeGreaterThan(0);
    expect(m.agentRssBytes).toBeGreaterThan(0);
    const info = await g.p.client.call('vmGuestInfo', { params: { id: g.vm.id } });
    expect(info.hostname).toBe('guest-e2e');
    expect(info.ips.map((i) => i.address)).toContain(g.vm.ip);
  });

  it('streams live metrics over a WebSocket', async () => {
    const t = await openTerminal(
      g.p.client.websocket('vmMetricsStream', { params: { id: g.vm.id }, query: { interval: 0.5 } }),
    );
    try {
      await until('two metrics messages', () => t.messages.length >= 2, 20_000);
      const [a, b] = t.messages as Array<{ at: string; uptimeSec: number; memory: { totalBytes: number } }>;
      expect(a!.memory.totalBytes).toBeGreaterThan(0);
      expect(Date.parse(b!.at)).toBeGreaterThan(Date.parse(a!.at));
      expect(b!.uptimeSec).toBeGreaterThan(a!.uptimeSec);
    } finally {
      t.close();
    }
  });

  it('keeps the guest session across an agent restart', async () => {
    await g.p.agent!.dispose();
    await g.p.startAgent();
    // The new agent re-adopts the VM and reconnects to the guest agent by itself.
    let r: Awaited<ReturnType<typeof g.p.client.call<'execVm'>>> | null = null;
    await until(
      'exec through the new agent',
      async () => {
        r = await g.p.client
          .call('execVm', { params: { id: g.vm.id }, body: { command: ['echo', 'again'] } })
          .catch(() => null);
        return r !== null;
      },
      30_000,
    );
    expect(r!.stdout).toBe('again\n');
  });
});
