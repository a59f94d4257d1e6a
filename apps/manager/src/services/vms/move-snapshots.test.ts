import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentClient } from '../agent-client.ts';
import { HostLiveness } from '../host-liveness.ts';
import type { VmContext } from './context.ts';
import { makeSide, standinFirecracker, type Side } from './fake-fc-hosts.ts';
import { copySnapshots, dropCopies } from './move-snapshots.ts';

// Two real agents (Supervisor and HTTP API) on this machine; the snapshot copy runs over the real
// agent client as a stopped VM's move does it. No VM is needed: a snapshot is a directory of files.

const log = pino({ level: 'silent' });
const live = new HostLiveness();
const agents = new AgentClient(live, 0);
let dir: string;
let src: Side;
let dst: Side;

const snapDir = (s: Side, id: string) => join(s.dataDir, 'snapshots', id);
const listing = async (s: Side) => (await readdir(join(s.dataDir, 'snapshots')).catch(() => [])).sort();

/** A snapshot on the source: notes, a sparse memory file with data at both ends, a disk. */
async function stored(id: string): Promise<Record<string, Buffer>> {
  const d = snapDir(src, id);
  await mkdir(d, { recursive: true });
  const memory = Buffer.alloc(8 << 20);
  randomBytes(4096).copy(memory, 0);
  randomBytes(4096).copy(memory, memory.length - 4096);
  const files = {
    'hearth.json': Buffer.from(JSON.stringify({ hasAgent: true, layout: 2, volumes: [] }) + '\n'),
    'vmstate.bin': memory,
    'disk.raw': Buffer.concat([randomBytes(65536), Buffer.alloc(1 << 20)]),
  };
  for (const [n, b] of Object.entries(files)) await writeFile(join(d, n), b);
  return files;
}

function contextWith(client: AgentClient = agents): VmContext {
  return { agents: client, log } as unknown as VmContext;
}
const say = (events: string[]) => async (t: string) => void events.push(t);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-snapmove-'));
  const binary = await standinFirecracker(dir);
  src = await makeSide(dir, 'source', binary, live);
  dst = await makeSide(dir, 'dest', binary, live);
});

afterAll(async () => {
  for (const s of [src, dst]) {
    if (!s) continue;
    s.sup.dispose();
    await s.app.close();
  }
  live.dispose();
  await agents.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a stopped VM’s snapshots copied between two agents', () => {
  it('copies every file under the same id, byte for byte, and the source copy goes when dropped', async () => {
    const files = await stored('snap_copied');
    const events: string[] = [];
    await copySnapshots(contextWith(), ['snap_copied'], src.host, dst.host, say(events));
    for (const [n, b] of Object.entries(files))
      expect((await readFile(join(snapDir(dst, 'snap_copied'), n))).equals(b)).toBe(true);
    expect(await listing(dst)).toEqual(['snap_copied']);
    expect(events).toEqual([expect.stringMatching(/^copying snapshot snap_copied: [\d.]+ MiB in 3 files$/)]);
    // A second copy to a host that has it is refused, and leaves what is there alone.
    await expect(copySnapshots(contextWith(), ['snap_copied'], src.host, dst.host, say([]))).rejects.toThrow(
      /has that snapshot already/,
    );
    await dropCopies(contextWith(), src.host, ['snap_copied']);
    expect(await listing(src)).toEqual([]);
  });

  it('a file that changes during the copy fails it; the destination keeps nothing, the source everything', async () => {
    const files = await stored('snap_changed');
    // The memory file shrinks once described: the source's stream ends with an error.
    const cut = new Proxy(agents, {
      get(t, k) {
        if (k !== 'call') return Reflect.get(t, k);
        return async (...a: Parameters<AgentClient['call']>) => {
          const r = await t.call(...a);
          if (a[1] === 'snapshotFiles')
            await truncate(join(snapDir(src, 'snap_changed'), 'vmstate.bin'), 4096);
          return r;
        };
      },
    });
    await expect(
      copySnapshots(contextWith(cut), ['snap_changed'], src.host, dst.host, say([])),
    ).rejects.toThrow();
    // The destination removes the arrival itself once its request fails (which may end after ours).
    await vi.waitFor(
      async () => expect((await listing(dst)).filter((n) => n.includes('snap_changed'))).toEqual([]),
      {
        timeout: 30_000,
        interval: 100,
      },
    );
    expect((await readFile(join(snapDir(src, 'snap_changed'), 'disk.raw'))).equals(files['disk.raw']!)).toBe(
      true,
    );
  });

  it('a snapshot the source does not have is refused with SNAPSHOT_NOT_FOUND', async () => {
    await expect(
      copySnapshots(contextWith(), ['snap_missing'], src.host, dst.host, say([])),
    ).rejects.toMatchObject({ code: 'SNAPSHOT_NOT_FOUND' });
  });
});
