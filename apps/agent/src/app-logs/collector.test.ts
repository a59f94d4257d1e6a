import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { FrameType, type AgentVmSpec, type GuestLogRecord } from '@hearth/contract';
import { encodeFrame } from '@hearth/contract/guest-codec';
import { connectToFake, fakeGuest } from '../guest/fake-guest.ts';
import { AppLogHub } from './collector.ts';
import { AppLogStore, type StoredLine } from './store.ts';

const log = pino({ level: 'silent' });
const disposers: Array<() => void> = [];
afterEach(() => {
  while (disposers.length) disposers.pop()!();
});

/** A guest whose app has printed `records` (the ring holds those from `first` on). */
function appGuest(bootId: string) {
  const state = { records: [] as GuestLogRecord[], first: 1, asked: [] as number[], cancels: 0 };
  const followers = new Set<{ sock: Socket; stream: number; next: number }>();
  const push = (f: { sock: Socket; stream: number; next: number }) => {
    if (f.sock.destroyed) return void followers.delete(f);
    if (f.next < state.first) {
      f.sock.write(
        encodeFrame(f.stream, FrameType.EVENT, { type: 'gap', from: f.next, to: state.first - 1 }),
      );
      f.next = state.first;
    }
    const recs = state.records.filter((r) => r.s >= f.next);
    if (recs.length) {
      f.sock.write(encodeFrame(f.stream, FrameType.EVENT, { type: 'logs', records: recs }));
      f.next = recs.at(-1)!.s + 1;
    }
  };
  const g = fakeGuest(
    (sock, f) => {
      if (f.type === FrameType.CONTROL && f.json?.type === 'cancel') {
        state.cancels++;
        for (const x of followers) if (x.sock === sock && x.stream === f.stream) followers.delete(x);
        sock.write(encodeFrame(f.stream, FrameType.RESULT, { ok: true, result: {} }));
        return;
      }
      if (f.type !== FrameType.REQUEST || f.json?.op !== 'app.logs') return;
      const from = Number(f.json.fromSeq ?? 1);
      state.asked.push(from);
      const follower = { sock, stream: f.stream, next: from };
      followers.add(follower);
      push(follower);
    },
    ['app'],
    { bootId },
  );
  disposers.push(() => g.close());
  return {
    g,
    state,
    print(n: number) {
      for (let i = 0; i < n; i++) {
        const s = state.records.length + 1;
        state.records.push({
          s,
          t: new Date().toISOString(),
          o: s % 2 ? 'stdout' : 'stderr',
          l: `line ${s}`,
        });
      }
      for (const f of followers) push(f);
    },
  };
}

const spec = {
  id: 'vm-1',
  guest: { secret: 's3cret', users: [], app: { argv: ['x'] } },
} as unknown as AgentVmSpec;

function stored(dir: string): StoredLine[] {
  const store = new AppLogStore(dir);
  return store
    .files()
    .flatMap((f) => {
      try {
        return readFileSync(f, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    })
    .map((l) => JSON.parse(l) as StoredLine);
}

async function until(fn: () => boolean): Promise<void> {
  while (!fn()) await new Promise((r) => setTimeout(r, 10));
}

function hubOn(path: string, vmDir: string, highWaterBytes?: number) {
  const conn = connectToFake(path, log);
  const hub = new AppLogHub(log, () => undefined, highWaterBytes);
  hub.attach(spec, vmDir, conn);
  const dispose = () => {
    hub.dispose();
    conn.dispose();
  };
  disposers.push(dispose);
  return { conn, hub, dispose };
}

describe('app log collector', () => {
  it('resumes after an agent restart and a channel reset with no duplicate and no loss', async () => {
    const vmDir = mkdtempSync(join(tmpdir(), 'hearth-collector-'));
    disposers.push(() => rmSync(vmDir, { recursive: true, force: true }));
    const guest = appGuest('11111111-2222-3333-4444-555555555555');
    guest.print(5);
    const first = hubOn(guest.g.path, vmDir);
    await until(() => stored(vmDir).length === 5);
    guest.print(3);
    await until(() => stored(vmDir).length === 8);
    // The agent restarts: a new hub, store and connection over the same directory.
    first.dispose();
    guest.print(4);
    const second = hubOn(guest.g.path, vmDir);
    await until(() => stored(vmDir).length === 12);
    // The channel resets (a snapshot, a VMM reset): the collector follows again from its cursor.
    guest.g.dropAll();
    guest.print(2);
    await until(() => stored(vmDir).length === 14);
    expect(stored(vmDir).map((l) => l.s)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(stored(vmDir).map((l) => l.o)).toEqual(guest.state.records.map((r) => r.o));
    expect(guest.state.asked).toEqual([1, 9, 13]);
    second.dispose();
  });

  it('stores a gap marker when the guest no longer holds what follows the cursor', async () => {
    const vmDir = mkdtempSync(join(tmpdir(), 'hearth-collector-'));
    disposers.push(() => rmSync(vmDir, { recursive: true, force: true }));
    const guest = appGuest('99999999-2222-3333-4444-555555555555');
    guest.print(10);
    guest.state.first = 7; // the ring dropped 1..6
    hubOn(guest.g.path, vmDir);
    await until(() => stored(vmDir).length === 5);
    const lines = stored(vmDir);
    expect(lines[0]!.gap).toEqual([1, 6]);
    expect(lines.slice(1).map((l) => l.s)).toEqual([7, 8, 9, 10]);
  });

  it('pauses the follow while the store lags, then resumes from its cursor with nothing twice', async () => {
    const vmDir = mkdtempSync(join(tmpdir(), 'hearth-collector-'));
    disposers.push(() => rmSync(vmDir, { recursive: true, force: true }));
    // Writes wait until the test lets them go, as on a saturated disk.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const append = AppLogStore.prototype.append;
    const spy = vi.spyOn(AppLogStore.prototype, 'append').mockImplementation(function (
      this: AppLogStore,
      ...args: Parameters<AppLogStore['append']>
    ) {
      return gate.then(() => append.apply(this, args));
    });
    disposers.push(() => spy.mockRestore());
    const guest = appGuest('77777777-2222-3333-4444-555555555555');
    hubOn(guest.g.path, vmDir, 200);
    await until(() => guest.state.asked.length === 1);
    for (let i = 0; i < 20; i++) guest.print(1); // one event each: the queue passes 200 bytes
    // The collector cancelled its follow and does not follow again while the store lags.
    await until(() => guest.state.cancels === 1);
    expect(guest.state.asked).toEqual([1]);
    release();
    await until(() => stored(vmDir).length === 20);
    expect(stored(vmDir).map((l) => l.s)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Each new follow starts after what was stored (one batch can pass the mark again).
    const again = guest.state.asked.slice(1);
    expect(again.length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < again.length; i++) expect(again[i]).toBeGreaterThan(i === 0 ? 1 : again[i - 1]!);
  });
});
