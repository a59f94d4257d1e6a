import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BODY, STREAM_WINDOW_BYTES } from '@hearth/contract';
import { sha256, useGuestVm } from '../helpers/guest-vm.ts';
import { until } from '../helpers/vm.ts';

// A guest that floods its output while the client reads nothing: per-stream credit on the guest
// channel keeps the agent's memory bounded, and other streams on the same VM keep working.

const g = useGuestVm();

const rssBytes = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

describe('a flooding guest (real VM)', () => {
  it('holds a stream whose client does not read to its window; other streams complete', async () => {
    const conn = await g.p.agent!.supervisor.guest(g.vm.id);
    expect(conn.hasCredit).toBe(true);
    const rssBefore = rssBytes();
    const abort = new AbortController();
    // Streamed exec of a process that writes as fast as it can; its body is never read.
    const res = await g.p.client.raw(
      'execVm',
      { params: { id: g.vm.id }, body: { command: 'cat /dev/zero', stream: true } },
      { signal: abort.signal },
    );
    expect(res.status).toBe(200);
    try {
      // Every buffer between the guest and this client fills, then the stream's credit runs
      // out: what the agent holds for it stops at (nearly) one window.
      await until(
        'the flooding stream used up its credit',
        () => conn.bufferedBytes >= (STREAM_WINDOW_BYTES * 3) / 4,
        120_000,
      );
      const bound = MAX_FRAME_BODY + STREAM_WINDOW_BYTES;
      expect(conn.bufferedBytes).toBeLessThanOrEqual(bound);

      // Another exec and a download on the same VM still complete.
      const other = await g.p.client.call('execVm', {
        params: { id: g.vm.id },
        body: {
          command: 'head -c 3000000 /dev/urandom > /root/flood-side.bin; sha256sum /root/flood-side.bin',
        },
      });
      expect(other.exitCode).toBe(0);
      const back = Buffer.from(
        await (
          await g.p.client.raw('downloadFile', {
            params: { id: g.vm.id },
            query: { path: '/root/flood-side.bin' },
          })
        ).arrayBuffer(),
      );
      expect(back.length).toBe(3_000_000);
      expect(sha256(back)).toBe(other.stdout.split(' ')[0]);

      // Still bounded after all that; the process as a whole did not grow with the flood (a
      // generous bound: the download above alone passes through this process's memory).
      expect(conn.bufferedBytes).toBeLessThanOrEqual(bound);
      expect(rssBytes() - rssBefore).toBeLessThan(256 * 1024 * 1024);
    } finally {
      abort.abort();
    }
    // The client left: the agent drops the stream's output and kills the process.
    await until('the flooding stream was let go', () => conn.bufferedBytes === 0, 120_000);
    await until('the flooding process was killed', async () => {
      const ps = await g.p.client.call('execVm', {
        params: { id: g.vm.id },
        body: { command: 'pgrep -x cat' },
      });
      return ps.exitCode !== 0;
    });
  }, 300_000);
});
