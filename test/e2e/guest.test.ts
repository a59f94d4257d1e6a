import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecEvent, Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';
import { openTerminal, refusedUpgrade } from '../helpers/ws.ts';

/** busybox ash prints its prompt followed by a cursor-position query. */
const ESC = String.fromCharCode(27);
const PROMPT = new RegExp(`# (${ESC}\\[6n)?$`);
const USER_PROMPT = new RegExp(`\\$ (${ESC}\\[6n)?$`);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let p: Platform;
let vm: Vm;

/** Streams an exec and collects every NDJSON event. */
async function execEvents(body: Record<string, unknown>): Promise<ExecEvent[]> {
  const res = await p.client.raw('execVm', {
    params: { id: vm.id },
    body: { ...body, stream: true } as never,
  });
  expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
  const events: ExecEvent[] = [];
  for await (const line of createInterface({ input: Readable.fromWeb(res.body as never) })) {
    if (line) events.push(JSON.parse(line) as ExecEvent);
  }
  return events;
}

const joined = (events: ExecEvent[], type: 'stdout' | 'stderr') =>
  Buffer.concat(events.flatMap((e) => (e.type === type ? [Buffer.from(e.data, 'base64')] : [])));

beforeAll(async () => {
  p = await startPlatform({ maxUploadBytes: 8 * 1024 * 1024 });
  const created = await p.client.call('createVm', {
    body: { name: 'guest-e2e', user: 'alice', password: 'correct horse', memoryMib: 192 },
  });
  // Readiness means the guest agent answered: exec must work the moment the VM is running.
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
  expect(vm.state).toBe('running');
  expect(vm.users).toEqual(['alice']);
}, 180_000);

afterAll(async () => {
  await p?.dispose();
});

describe('exec through the guest agent (real VM)', () => {
  it('runs argv and shell commands, with exit codes, env, cwd and user', async () => {
    const echo = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: ['echo', 'hello', 'world'] },
    });
    expect(echo).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      stdout: 'hello world\n',
      stderr: '',
    });

    const fail = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'echo out; echo err >&2; exit 7' },
    });
    expect(fail).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });

    const ctx = await p.client.call('execVm', {
      params: { id: vm.id },
      body: {
        command: 'echo "$GREETING $(pwd) $(id -un)"',
        env: { GREETING: 'hi' },
        cwd: '/tmp',
        user: 'alice',
      },
    });
    expect(ctx.stdout).toBe('hi /tmp alice\n');
  });

  it('pipes stdin through', async () => {
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: ['sh', '-c', 'tr a-z A-Z; echo done'], stdin: 'piped text\n' },
    });
    expect(r.stdout).toBe('PIPED TEXT\ndone\n');
  });

  it('streams 10 MB of output intact', async () => {
    const events = await execEvents({
      command: 'head -c 10485760 /dev/urandom > /tmp/big && sha256sum /tmp/big >&2 && cat /tmp/big',
    });
    const out = joined(events, 'stdout');
    expect(out.length).toBe(10 * 1024 * 1024);
    const guestSum = joined(events, 'stderr').toString().split(' ')[0];
    expect(sha256(out)).toBe(guestSum);
    expect(events[0]).toMatchObject({ type: 'started' });
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });
  }, 120_000);

  it('kills a command at its timeout', async () => {
    const t0 = Date.now();
    const r = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'echo started; sleep 61; echo never', timeoutMs: 1500 },
    });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'KILL', stdout: 'started\n' });
    expect(Date.now() - t0).toBeLessThan(30_000);
    const ps = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'ps -o args | grep -c "[s]leep 61" || true' },
    });
    expect(ps.stdout.trim()).toBe('0');
  });

  it('refuses a command that cannot start with a clear error', async () => {
    const e = await expectCode(
      () => p.client.call('execVm', { params: { id: vm.id }, body: { command: ['/no/such/binary'] } }),
      'EXEC_FAILED',
      422,
    );
    expect(e.message).toMatch(/no\/such\/binary/);
  });

  it('tracks processes: stdin kept open and fed later, re-attach with replay, signals', async () => {
    // A streamed exec whose stdin stays open: fed through the stdin endpoint.
    const res = await p.client.raw('execVm', {
      params: { id: vm.id },
      body: {
        command: 'while read l; do echo "got $l"; done; echo eof',
        keepStdinOpen: true,
        stream: true,
        tag: 'reader',
      },
    });
    const events: ExecEvent[] = [];
    const lines = createInterface({ input: Readable.fromWeb(res.body as never) });
    const ended = (async () => {
      for await (const line of lines) events.push(JSON.parse(line) as ExecEvent);
    })();
    await until(() => events.some((e) => e.type === 'started'));
    const processId = (events[0] as { processId: string }).processId;
    const list = await p.client.call('listProcesses', { params: { id: vm.id } });
    expect(list.items.find((x) => x.processId === processId)).toMatchObject({ tag: 'reader', running: true });
    await p.client.call('processStdin', { params: { id: vm.id, processId }, body: { data: 'one\n' } });
    await until(() => joined(events, 'stdout').toString().includes('got one'));
    await p.client.call('processStdin', {
      params: { id: vm.id, processId },
      body: { data: 'two\n', close: true },
    });
    await ended;
    expect(joined(events, 'stdout').toString()).toBe('got one\ngot two\neof\n');
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });

    // Re-attaching to a finished process replays its output and its exit.
    const again = await p.client.raw('processOutput', {
      params: { id: vm.id, processId },
      query: { replay: 'true' },
    });
    const replayed = (await again.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ExecEvent);
    expect(joined(replayed, 'stdout').toString()).toBe('got one\ngot two\neof\n');
    expect(replayed.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });

    // A signal reaches a running process; the exit says which one.
    const sleeper = execEvents({ command: ['sleep', '300'], tag: 'sleeper' });
    let sleeperId: string | undefined;
    await until(async () => {
      const ps = await p.client.call('listProcesses', { params: { id: vm.id } });
      sleeperId = ps.items.find((x) => x.tag === 'sleeper' && x.running)?.processId;
      return Boolean(sleeperId);
    });
    await p.client.call('signalProcess', {
      params: { id: vm.id, processId: sleeperId! },
      body: { signal: 'TERM' },
    });
    expect((await sleeper).at(-1)).toMatchObject({ type: 'exit', exitCode: null, signal: 'TERM' });
    await expectCode(
      () =>
        p.client.call('signalProcess', {
          params: { id: vm.id, processId: 'p999999' },
          body: { signal: 'TERM' },
        }),
      'PROCESS_NOT_FOUND',
      404,
    );
  });
});

describe('files through the guest agent (real VM)', () => {
  it('round-trips a file byte for byte, with its mode', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));
    const up = await p.client.raw(
      'uploadFile',
      { params: { id: vm.id }, query: { path: '/home/alice/data.bin', mode: '0640' } },
      { body: data, headers: { 'content-type': 'application/octet-stream' } },
    );
    expect(await up.json()).toMatchObject({ path: '/home/alice/data.bin', bytes: data.length });
    const stat = await p.client.call('statFile', {
      params: { id: vm.id },
      query: { path: '/home/alice/data.bin' },
    });
    expect(stat).toMatchObject({ type: 'file', size: data.length, mode: 0o640 });
    const inGuest = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'sha256sum /home/alice/data.bin' },
    });
    expect(inGuest.stdout.split(' ')[0]).toBe(sha256(data));
    const down = await p.client.raw('downloadFile', {
      params: { id: vm.id },
      query: { path: '/home/alice/data.bin' },
    });
    expect(down.headers.get('x-hearth-file-kind')).toBe('file');
    expect(sha256(Buffer.from(await down.arrayBuffer()))).toBe(sha256(data));
    // A tiny file arrives with its metadata, data and end in one read: none of it may be lost.
    for (let i = 0; i < 20; i++) {
      const small = await p.client.raw('downloadFile', {
        params: { id: vm.id },
        query: { path: '/etc/hostname' },
      });
      expect(await small.text()).toBe('guest-e2e\n');
    }
  });

  it('round-trips a directory as tar', async () => {
    const src = join(p.dir, 'tree');
    mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'sub', 'deeper', 'b.bin'), Buffer.alloc(100_000, 0xab));
    const archive = execFileSync('tar', ['-C', src, '-cf', '-', '.']);
    const up = await p.client.raw(
      'uploadFile',
      { params: { id: vm.id }, query: { path: '/srv/tree', format: 'tar' } },
      { body: archive, headers: { 'content-type': 'application/x-tar' } },
    );
    expect(up.status).toBe(200);
    const list = await p.client.call('listFiles', {
      params: { id: vm.id },
      query: { path: '/srv/tree', depth: 3 },
    });
    expect(list.entries.map((e) => e.path).sort()).toEqual([
      '/srv/tree/a.txt',
      '/srv/tree/sub',
      '/srv/tree/sub/deeper',
      '/srv/tree/sub/deeper/b.bin',
    ]);
    const down = await p.client.raw('downloadFile', { params: { id: vm.id }, query: { path: '/srv/tree' } });
    expect(down.headers.get('content-type')).toMatch(/x-tar/);
    const dst = join(p.dir, 'tree-back');
    mkdirSync(dst);
    execFileSync('tar', ['-C', dst, '-xf', '-'], { input: Buffer.from(await down.arrayBuffer()) });
    for (const f of ['a.txt', 'sub/deeper/b.bin']) {
      expect(sha256(readFileSync(join(dst, f)))).toBe(sha256(readFileSync(join(src, f))));
    }
  });

  it('makes, moves and removes paths', async () => {
    await p.client.call('makeDir', { params: { id: vm.id }, body: { path: '/srv/x/y' } });
    await p.client.call('moveFile', { params: { id: vm.id }, body: { from: '/srv/x/y', to: '/srv/x/z' } });
    expect(
      (await p.client.call('statFile', { params: { id: vm.id }, query: { path: '/srv/x/z' } })).type,
    ).toBe('dir');
    const notEmpty = await expectCode(
      () => p.client.call('removeFile', { params: { id: vm.id }, query: { path: '/srv/x' } }),
      'VALIDATION_FAILED',
      400,
    );
    expect(notEmpty.message).toMatch(/not empty/);
    await p.client.call('removeFile', {
      params: { id: vm.id },
      query: { path: '/srv/x', recursive: 'true' },
    });
    await expectCode(
      () => p.client.call('statFile', { params: { id: vm.id }, query: { path: '/srv/x' } }),
      'GUEST_PATH_NOT_FOUND',
      404,
    );
  });

  it('refuses path escapes, in paths and inside archives, leaving nothing behind', async () => {
    await expectCode(
      () => p.client.call('statFile', { params: { id: vm.id }, query: { path: '/tmp/../etc/shadow' } }),
      'VALIDATION_FAILED',
      400,
    );
    const evil = join(p.dir, 'evil');
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
        p.client.raw(
          'uploadFile',
          { params: { id: vm.id }, query: { path: '/srv/evil', format: 'tar' } },
          { body: archive, headers: { 'content-type': 'application/x-tar' } },
        ),
      'GUEST_PATH_INVALID',
      400,
    );
    expect(e.message).toMatch(/\.\./);
    const check = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'ls /srv/escaped.txt /srv/ok.txt /srv/evil 2>&1; true' },
    });
    expect(check.stdout).not.toMatch(/^\/srv\/(escaped|ok)\.txt$/m);
  });

  it('refuses an upload over the size limit', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 1);
    await expectCode(
      () =>
        p.client.raw(
          'uploadFile',
          { params: { id: vm.id }, query: { path: '/tmp/too-big' } },
          { body: big, headers: { 'content-type': 'application/octet-stream' } },
        ),
      'PAYLOAD_TOO_LARGE',
      413,
    );
  });
});

describe('terminals (real VM)', () => {
  it('gives a PTY shell whose size follows resize messages', async () => {
    const t = await openTerminal(
      p.client.websocket('vmShell', { params: { id: vm.id }, query: { cols: 100, rows: 30 } }),
    );
    try {
      await t.expect(PROMPT);
      t.type('stty size\r');
      await t.expect(/30 100/);
      t.control({ type: 'resize', cols: 132, rows: 43 });
      t.mark();
      t.type('stty size; tty\r');
      await t.expect(/43 132/);
      await t.expect(/\/dev\/pts\/\d+/);
      t.type('exit 5\r');
      await until(() => t.closed() !== null);
      expect(t.messages).toContainEqual({ type: 'exit', exitCode: 5, signal: null });
    } finally {
      t.close();
    }
  });

  it('serial console: replays history, and real login accepts the injected password only', async () => {
    const c = await openTerminal(p.client.websocket('vmConsole', { params: { id: vm.id } }));
    const other = await openTerminal(p.client.websocket('vmConsole', { params: { id: vm.id } }));
    try {
      // History: the boot lines were printed long before we connected.
      await c.expect(/hearth-guest: booted/);
      c.type('\n');
      await c.expect(/login: $/m);
      c.mark();
      c.type('alice\n');
      await c.expect(/Password: $/m);
      c.type('wrong password\n');
      await c.expect(/Login incorrect/, 30_000);
      await c.expect(/login: $/m, 30_000);
      c.mark();
      c.type('alice\n');
      await c.expect(/Password: $/m);
      c.type('correct horse\n');
      await c.expect(USER_PROMPT);
      c.type('id -un; whoami\n');
      await c.expect(/^alice\r?$/m);
      // A second viewer sees the same session.
      await other.expect(/id -un; whoami/);
      c.type('exit\n');
    } finally {
      c.close();
      other.close();
    }
  }, 90_000);

  it('refuses terminals without a token, for unknown VMs, and for VMs that are not running', async () => {
    const target = p.client.websocket('vmShell', { params: { id: vm.id } });
    const noAuth = await refusedUpgrade({ url: target.url, headers: {} });
    expect(noAuth).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const unknown = await refusedUpgrade(p.client.websocket('vmShell', { params: { id: 'no-such-vm' } }));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'VM_NOT_FOUND' } } });
    const stopped = await p.client.call('createVm', { body: { name: 'guest-e2e-stopped', start: false } });
    const refused = await refusedUpgrade(p.client.websocket('vmShell', { params: { id: stopped.id } }));
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'VM_NOT_RUNNING' } } });
    await expectCode(
      () => p.client.call('execVm', { params: { id: stopped.id }, body: { command: ['true'] } }),
      'VM_NOT_RUNNING',
      409,
    );
    await expectCode(
      () => p.client.call('execVm', { params: { id: 'vm_missing' }, body: { command: ['true'] } }),
      'VM_NOT_FOUND',
      404,
    );
    // The browser form of auth: ?token= works where headers cannot be set.
    const viaQuery = new URL(target.url);
    viaQuery.searchParams.set('token', target.headers.authorization!.slice(7));
    const t = await openTerminal({ url: viaQuery.toString(), headers: {} });
    await t.expect(PROMPT);
    t.close();
  });
});

describe('guest metrics and agent restarts (real VM)', () => {
  it('reports guest metrics and info', async () => {
    const m = await p.client.call('vmMetrics', { params: { id: vm.id } });
    expect(m.memory.totalBytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(m.processes).toBeGreaterThan(3);
    expect(m.uptimeSec).toBeGreaterThan(0);
    expect(m.disk.totalBytes).toBeGreaterThan(0);
    expect(m.agentRssBytes).toBeGreaterThan(0);
    const info = await p.client.call('vmGuestInfo', { params: { id: vm.id } });
    expect(info.hostname).toBe('guest-e2e');
    expect(info.ips.map((i) => i.address)).toContain(vm.ip);
  });

  it('streams live metrics over a WebSocket', async () => {
    const t = await openTerminal(
      p.client.websocket('vmMetricsStream', { params: { id: vm.id }, query: { interval: 0.5 } }),
    );
    try {
      await until(() => t.messages.length >= 2, 20_000);
      const [a, b] = t.messages as Array<{ at: string; uptimeSec: number; memory: { totalBytes: number } }>;
      expect(a!.memory.totalBytes).toBeGreaterThan(0);
      expect(Date.parse(b!.at)).toBeGreaterThan(Date.parse(a!.at));
      expect(b!.uptimeSec).toBeGreaterThan(a!.uptimeSec);
    } finally {
      t.close();
    }
  });

  it('keeps the guest session across an agent restart', async () => {
    await p.agent!.dispose();
    await p.startAgent();
    // The new agent re-adopts the VM and reconnects to the guest agent by itself.
    let r: Awaited<ReturnType<typeof p.client.call<'execVm'>>> | null = null;
    await until(async () => {
      r = await p.client
        .call('execVm', { params: { id: vm.id }, body: { command: ['echo', 'again'] } })
        .catch(() => null);
      return r !== null;
    }, 30_000);
    expect(r!.stdout).toBe('again\n');
  });
});

async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
