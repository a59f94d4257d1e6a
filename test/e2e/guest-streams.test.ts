import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { expectCode } from '../helpers/expect.ts';

/**
 * Failures in the middle of guest streams — a missing file, a client or an agent that goes away
 * mid-download, a guest channel that resets — end that one call with a clear answer; the platform
 * (manager and agent share this process here, as in `hearth up`) keeps serving. Also: what exec
 * leaves running in the background survives it, unless the exec timed out.
 */

let p: Platform;
let vm: Vm;
const BIG = '/root/big.bin';
const BIG_BYTES = 16 * 1024 * 1024;
let bigSha = '';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sh = (command: string, timeoutMs?: number) =>
  p.client.call('execVm', {
    params: { id: vm.id },
    body: { command, ...(timeoutMs ? { timeoutMs } : {}) },
  });
/** The platform still answers: an API call and a guest call. */
async function stillServing(): Promise<void> {
  expect((await p.client.call('getVm', { params: { id: vm.id } })).state).toBe('running');
  expect((await sh('echo alive')).stdout).toBe('alive\n');
}
/** Whether a guest process exists and is not a zombie. */
async function alive(pid: number): Promise<boolean> {
  const r = await sh(`s=$(cut -d' ' -f3 /proc/${pid}/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]`);
  return r.exitCode === 0;
}

beforeAll(async () => {
  p = await startPlatform();
  const created = await p.client.call('createVm', { body: { name: 'streams-e2e', memoryMib: 192 } });
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
  const made = await sh(`head -c ${BIG_BYTES} /dev/urandom > ${BIG} && sha256sum ${BIG}`);
  expect(made.exitCode).toBe(0);
  bigSha = made.stdout.split(' ')[0]!;
}, 180_000);

afterAll(async () => {
  await p?.dispose();
});

describe('guest streams that fail (real VM)', () => {
  it('answers a download of a missing file with a 404 envelope and keeps serving', async () => {
    for (const path of ['/no/such/file', '/no/such/dir/file']) {
      const e = await expectCode(
        () => p.client.raw('downloadFile', { params: { id: vm.id }, query: { path } }),
        'GUEST_PATH_NOT_FOUND',
        404,
      );
      expect(e.message).toMatch(/no such file/);
      expect(e.hint).toMatch(/path inside the guest/);
    }
    // A device is refused before any byte, too: a 4xx, not a crash.
    const dev = await p.client
      .raw('downloadFile', { params: { id: vm.id }, query: { path: '/dev/zero' } })
      .then(
        () => null,
        (x: { status?: number }) => x,
      );
    expect(dev?.status).toBeGreaterThanOrEqual(400);
    expect(dev?.status).toBeLessThan(500);
    // A file the guest's kernel refuses to read (EIO) is a 422 with the guest's reason.
    const refused = await expectCode(
      () => p.client.raw('downloadFile', { params: { id: vm.id }, query: { path: '/proc/1/mem' } }),
      'GUEST_PATH_IO_ERROR',
      422,
    );
    expect(refused.message).toMatch(/input\/output error/);
    // A name past the guest's limit is the caller's to shorten.
    const long = await expectCode(
      () => p.client.call('makeDir', { params: { id: vm.id }, body: { path: `/tmp/${'d'.repeat(300)}` } }),
      'VALIDATION_FAILED',
      400,
    );
    expect(long.message).toMatch(/file name too long/);
    await stillServing();
  });

  it('stops the read when the client leaves mid-download; the next download is whole', async () => {
    const ac = new AbortController();
    const res = await p.client.raw(
      'downloadFile',
      { params: { id: vm.id }, query: { path: BIG } },
      { signal: ac.signal },
    );
    expect(res.headers.get('x-hearth-file-size')).toBe(String(BIG_BYTES));
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    ac.abort();
    await reader.read().catch(() => undefined);
    await stillServing();
    const again = await p.client.raw('downloadFile', { params: { id: vm.id }, query: { path: BIG } });
    expect(sha256(Buffer.from(await again.arrayBuffer()))).toBe(bigSha);
  });

  it('breaks the transfer (never a short file) when the agent goes away mid-download', async () => {
    const res = await p.client.raw('downloadFile', { params: { id: vm.id }, query: { path: BIG } });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    // The agent stops (its guest channels close under the running read) and comes back.
    await p.agent!.dispose();
    let got = 0;
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended';
        got += value.length;
      }
    })().catch(() => 'broken');
    expect(outcome).toBe('broken');
    expect(got).toBeLessThan(BIG_BYTES);
    await p.startAgent();
    await stillServing();
  });

  it('lets a call wait for a guest channel that resets (as Firecracker does on snapshot)', async () => {
    const conn = await p.agent!.supervisor.guest(vm.id);
    const down = new Promise((r) => conn.once('disconnected', r));
    // QEMU keeps its virtio-serial channel across snapshots; drop the host end as a vsock reset does.
    (conn as unknown as { sock: Socket }).sock.destroy();
    await down;
    expect(conn.info).toBeNull();
    // Arrives while the channel is down: it waits for the reconnect instead of failing.
    expect((await sh('echo after-reset')).stdout).toBe('after-reset\n');
    expect(conn.info).not.toBeNull();
  });
});

describe('exec and background processes (real VM)', () => {
  it('leaves what a command started in the background running after it exits', async () => {
    // As over ssh or `docker exec`: `server &` outlives the exec, streamed or not, even when it
    // keeps writing to the output the exec had (a SIGPIPE once the exec returned would kill it).
    const chatty = await sh(
      '(while :; do sleep 1; echo tick; echo x >> /tmp/marks; done) & echo $! > /tmp/chatty.pid',
    );
    expect(chatty.exitCode).toBe(0);
    const res = await p.client.raw('execVm', {
      params: { id: vm.id },
      body: { command: ['sh', '-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'], stream: true },
    });
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });
    const quiet = Number(
      Buffer.concat(lines.filter((l) => l.type === 'stdout').map((l) => Buffer.from(l.data!, 'base64'))),
    );
    const pid = Number((await sh('cat /tmp/chatty.pid')).stdout);
    // The chatty one has written after the exec returned (and lived): three marks, or it died.
    const marks = async () => Number((await sh('cat /tmp/marks 2>/dev/null | wc -l')).stdout);
    while ((await marks()) < 3 && (await alive(pid))) await new Promise((r) => setTimeout(r, 200));
    for (const bg of [pid, quiet]) {
      expect(bg).toBeGreaterThan(1);
      expect(await alive(bg)).toBe(true);
      await sh(`kill ${bg}`);
    }
  });

  it('runs the nohup line people type, and what it starts outlives the exec', async () => {
    const r = await sh('nohup sleep 1001 >/dev/null 2>&1 & echo $!');
    expect(r.exitCode).toBe(0);
    const pid = Number(r.stdout);
    expect(pid).toBeGreaterThan(1);
    expect((await sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`)).stdout).toContain('sleep 1001');
    expect(await alive(pid)).toBe(true);
    await sh(`kill ${pid}`);
  });

  it('kills the whole group of a command that times out', async () => {
    const r = await sh('sleep 1000 >/dev/null 2>&1 & echo $! > /tmp/bg.pid; sleep 1000', 3000);
    expect(r.timedOut).toBe(true);
    const pid = Number((await sh('cat /tmp/bg.pid')).stdout);
    expect(pid).toBeGreaterThan(1);
    // The KILL went to the group at once; the zombie is reaped by init, so look until it is.
    while (await alive(pid)) await new Promise((r) => setTimeout(r, 100));
    expect(await alive(pid)).toBe(false);
  });
});
