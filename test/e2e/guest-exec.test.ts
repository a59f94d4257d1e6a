import type { ExecEvent } from '@hearth/contract';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../helpers/expect.ts';
import { joined, sha256, useGuestVm } from '../helpers/guest-vm.ts';
import { servedCertificatePin } from '../helpers/tls.ts';
import { until } from '../helpers/vm.ts';
import { openTerminal, refusedUpgrade } from '../helpers/ws.ts';

// Exec, processes and terminals through the guest agent, on one VM shared by the file's tests.

/** busybox ash prints its prompt followed by a cursor-position query. */
const ESC = String.fromCharCode(27);
const PROMPT = new RegExp(`# (${ESC}\\[6n)?$`);
const USER_PROMPT = new RegExp(`\\$ (${ESC}\\[6n)?$`);

const g = useGuestVm();

describe('exec through the guest agent (real VM)', () => {
  it('runs argv and shell commands, with exit codes, env, cwd and user', async () => {
    const echo = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: ['echo', 'hello', 'world'] },
    });
    expect(echo).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      stdout: 'hello world\n',
      stderr: '',
    });

    const fail = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: 'echo out; echo err >&2; exit 7' },
    });
    expect(fail).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });

    const ctx = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
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
    const r = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: ['sh', '-c', 'tr a-z A-Z; echo done'], stdin: 'piped text\n' },
    });
    expect(r.stdout).toBe('PIPED TEXT\ndone\n');
  });

  it('streams 10 MB of output intact', async () => {
    const events = await g.execEvents({
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
    const r = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: 'echo started; sleep 61; echo never', timeoutMs: 1500 },
    });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'KILL', stdout: 'started\n' });
    expect(Date.now() - t0).toBeLessThan(30_000);
    const ps = await g.p.client.call('execVm', {
      params: { id: g.vm.id },
      body: { command: 'ps -o args | grep -c "[s]leep 61" || true' },
    });
    expect(ps.stdout.trim()).toBe('0');
  });

  it('refuses a command that cannot start with a clear error', async () => {
    const e = await expectCode(
      () => g.p.client.call('execVm', { params: { id: g.vm.id }, body: { command: ['/no/such/binary'] } }),
      'EXEC_FAILED',
      422,
    );
    expect(e.message).toMatch(/no\/such\/binary/);
  });

  it('tracks processes: stdin kept open and fed later, re-attach with replay, signals', async () => {
    // A streamed exec whose stdin stays open: fed through the stdin endpoint.
    const res = await g.p.client.raw('execVm', {
      params: { id: g.vm.id },
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
    await until('the reader started', () => events.some((e) => e.type === 'started'));
    const processId = (events[0] as { processId: string }).processId;
    const list = await g.p.client.call('listProcesses', { params: { id: g.vm.id } });
    expect(list.items.find((x) => x.processId === processId)).toMatchObject({ tag: 'reader', running: true });
    await g.p.client.call('processStdin', { params: { id: g.vm.id, processId }, body: { data: 'one\n' } });
    await until('got one', () => joined(events, 'stdout').toString().includes('got one'));
    await g.p.client.call('processStdin', {
      params: { id: g.vm.id, processId },
      body: { data: 'two\n', close: true },
    });
    await ended;
    expect(joined(events, 'stdout').toString()).toBe('got one\ngot two\neof\n');
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });

    // Re-attaching to a finished process replays its output and its exit.
    const again = await g.p.client.raw('processOutput', {
      params: { id: g.vm.id, processId },
      query: { replay: 'true' },
    });
    const replayed = (await again.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ExecEvent);
    expect(joined(replayed, 'stdout').toString()).toBe('got one\ngot two\neof\n');
    expect(replayed.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });

    // A signal reaches a running process; the exit says which one.
    const sleeper = g.execEvents({ command: ['sleep', '300'], tag: 'sleeper' });
    let sleeperId: string | undefined;
    await until('the sleeper running', async () => {
      const ps = await g.p.client.call('listProcesses', { params: { id: g.vm.id } });
      sleeperId = ps.items.find((x) => x.tag === 'sleeper' && x.running)?.processId;
      return Boolean(sleeperId);
    });
    await g.p.client.call('signalProcess', {
      params: { id: g.vm.id, processId: sleeperId! },
      body: { signal: 'TERM' },
    });
    expect((await sleeper).at(-1)).toMatchObject({ type: 'exit', exitCode: null, signal: 'TERM' });
    await expectCode(
      () =>
        g.p.client.call('signalProcess', {
          params: { id: g.vm.id, processId: 'p999999' },
          body: { signal: 'TERM' },
        }),
      'PROCESS_NOT_FOUND',
      404,
    );
  });
});

describe('terminals (real VM)', () => {
  it('gives a PTY shell whose size follows resize messages', async () => {
    const t = await openTerminal(
      g.p.client.websocket('vmShell', { params: { id: g.vm.id }, query: { cols: 100, rows: 30 } }),
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
      await until('the shell closed', () => t.closed() !== null);
      expect(t.messages).toContainEqual({ type: 'exit', exitCode: 5, signal: null });
    } finally {
      t.close();
    }
  });

  it('serial console: replays history, and real login accepts the injected password only', async () => {
    const c = await openTerminal(g.p.client.websocket('vmConsole', { params: { id: g.vm.id } }));
    const other = await openTerminal(g.p.client.websocket('vmConsole', { params: { id: g.vm.id } }));
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
    const target = g.p.client.websocket('vmShell', { params: { id: g.vm.id } });
    const noAuth = await refusedUpgrade({ url: target.url, headers: {} });
    expect(noAuth).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const unknown = await refusedUpgrade(g.p.client.websocket('vmShell', { params: { id: 'no-such-vm' } }));
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'VM_NOT_FOUND' } } });
    const stopped = await g.p.client.call('createVm', { body: { name: 'guest-e2e-stopped', start: false } });
    const refused = await refusedUpgrade(g.p.client.websocket('vmShell', { params: { id: stopped.id } }));
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'VM_NOT_RUNNING' } } });
    await expectCode(
      () => g.p.client.call('execVm', { params: { id: stopped.id }, body: { command: ['true'] } }),
      'VM_NOT_RUNNING',
      409,
    );
    await expectCode(
      () => g.p.client.call('execVm', { params: { id: 'vm_missing' }, body: { command: ['true'] } }),
      'VM_NOT_FOUND',
      404,
    );
    // A token in the URL is refused; the browser form of auth is a single-use ?ticket=.
    const viaQuery = new URL(target.url);
    viaQuery.searchParams.set('token', target.headers.authorization!.slice(7));
    const byToken = await refusedUpgrade({ url: viaQuery.toString(), headers: {} });
    expect(byToken).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const url = await g.p.client.connectUrl('vmShell', { params: { id: g.vm.id } });
    const t = await openTerminal({ url, headers: {} });
    await t.expect(PROMPT);
    t.close();
    const reused = await refusedUpgrade({ url, headers: {} });
    expect(reused).toMatchObject({ status: 401, body: { error: { code: 'TICKET_INVALID' } } });
  });

  it('keeps the VM and an exec in flight across a rotation of its host credentials and certificate', async () => {
    const exec = (command: string) =>
      g.p.client.call('execVm', { params: { id: g.vm.id }, body: { command } });
    const bootId = (await exec('cat /proc/sys/kernel/random/boot_id')).stdout;
    const host = await g.p.client.call('getHost', { params: { id: g.vm.host! } });
    const pin = await servedCertificatePin(host.url);
    // An exec streaming over a connection opened to the old certificate, waiting for a file.
    const res = await g.p.client.raw('execVm', {
      params: { id: g.vm.id },
      body: { command: 'while [ ! -e /tmp/rotated ]; do sleep 0.1; done; echo through', stream: true },
    });
    await g.p.client.call('rotateHostCredentials', { params: { id: host.id } });
    expect(await servedCertificatePin(host.url)).not.toBe(pin);
    // A new connection, to the new certificate, reaches the same guest (same boot)...
    expect((await exec('touch /tmp/rotated; cat /proc/sys/kernel/random/boot_id')).stdout).toBe(bootId);
    // ...and the exec begun before the rotation finishes on its own connection.
    const events: ExecEvent[] = [];
    for await (const line of createInterface({ input: Readable.fromWeb(res.body as never) })) {
      if (line) events.push(JSON.parse(line) as ExecEvent);
    }
    expect(joined(events, 'stdout').toString()).toBe('through\n');
    expect((await g.p.client.call('getVm', { params: { id: g.vm.id } })).state).toBe('running');
  });
});
