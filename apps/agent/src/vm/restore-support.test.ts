import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { FrameType, IDENTITY_FULL_FEATURE, type AgentVmSpec } from '@hearth/contract';
import { encodeFrame } from '@hearth/contract/guest-codec';
import { connectToFake, fakeGuest } from '../guest/fake-guest.ts';
import { adoptIdentity, assertLayout, SNAPSHOT_LAYOUT } from './restore-support.ts';

const log = pino({ level: 'silent' });
const disposers: Array<() => void> = [];
afterEach(() => {
  while (disposers.length) disposers.pop()!();
});

const ref = { path: '/x', sha256: 'x' };
function spec(name: string, mac: string, ip: string): AgentVmSpec {
  return {
    id: `vm_${name}`,
    name,
    vcpus: 1,
    memoryMib: 64,
    diskMib: 1,
    vmm: 'qemu',
    kernel: ref,
    initrd: null,
    rootfs: ref,
    bootMarker: null,
    bootArgs: '',
    env: {},
    guest: null,
    ports: [],
    volumes: [],
    network: { bridge: 'br0', mac, ip, prefix: 24, gateway: '10.9.0.1', dns: '10.9.0.1' },
    nics: [],
    egress: null,
    bandwidthMbit: null,
  };
}
const source = spec('src', '02:00:00:00:00:01', '10.9.0.5');
const clone = spec('clone-1', '02:00:00:00:00:02', '10.9.0.6');

/** A guest that records each request and answers it with `answer`. */
function recordingGuest(capabilities: string[], answer: (req: Record<string, unknown>) => object) {
  const seen: Record<string, unknown>[] = [];
  const g = fakeGuest((sock, f) => {
    if (f.type !== FrameType.REQUEST || !f.json) return;
    seen.push(f.json);
    sock.write(encodeFrame(f.stream, FrameType.RESULT, answer(f.json)));
  }, capabilities);
  const conn = connectToFake(g.path, log);
  disposers.push(
    () => g.close(),
    () => conn.dispose(),
  );
  return { conn, seen };
}

describe('a restored guest taking its identity', () => {
  it('asks a guest that offers the identity op once: clock, hostname, each NIC by its old MAC', async () => {
    const { conn, seen } = recordingGuest(['exec', 'identity'], () => ({ ok: true }));
    await conn.ready();
    const before = Date.now();
    await adoptIdentity(conn, clone, source);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      op: 'identity',
      hostname: 'clone-1',
      nics: [
        {
          from: '02:00:00:00:00:01',
          mac: '02:00:00:00:00:02',
          address: '10.9.0.6/24',
          gateway: '10.9.0.1',
          index: 0,
        },
      ],
    });
    expect(seen[0]!.unixMs).toBeGreaterThanOrEqual(before);
  });

  it('reseeds a guest that takes the full identity, and gives a clone (not an in-place restore) a new machine-id', async () => {
    const { conn, seen } = recordingGuest(['identity', IDENTITY_FULL_FEATURE], () => ({ ok: true }));
    await conn.ready();
    await adoptIdentity(conn, clone, source);
    await adoptIdentity(conn, source, source);
    expect(seen.map((r) => r.renewMachineId)).toEqual([true, false]);
    const seeds = seen.map((r) => Buffer.from(r.entropy as string, 'base64'));
    expect(seeds.map((b) => b.length)).toEqual([64, 64]);
    expect(seeds[0]!.equals(seeds[1]!)).toBe(false);
    // A guest with the identity op but from before it took entropy is not sent fields it ignores.
    const old = recordingGuest(['identity'], () => ({ ok: true }));
    await old.conn.ready();
    await adoptIdentity(old.conn, clone, source);
    expect(old.seen[0]).not.toHaveProperty('entropy');
  });

  it('fails the restore with VM_FAILED when the guest refuses the identity', async () => {
    const { conn } = recordingGuest(['identity'], () => ({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no interface has MAC 02:00:00:00:00:01' },
    }));
    await conn.ready();
    await expect(adoptIdentity(conn, clone, source)).rejects.toMatchObject({
      code: 'VM_FAILED',
      message: expect.stringContaining('no interface has MAC') as unknown,
    });
  });

  it('falls back to time.sync and a script for a guest agent without the op (an older snapshot)', async () => {
    const { conn, seen } = recordingGuest(['exec', 'time.sync'], (req) =>
      req.op === 'exec' ? { ok: true, exitCode: 0 } : { ok: true },
    );
    await conn.ready();
    await adoptIdentity(conn, clone, source);
    expect(seen.map((r) => r.op)).toEqual(['time.sync', 'exec']);
    expect(seen[1]).toMatchObject({
      argv: ['/bin/sh', '-c', expect.any(String) as unknown],
      env: {
        HEARTH_NAME: 'clone-1',
        HEARTH_NICS: '02:00:00:00:00:01 02:00:00:00:00:02 10.9.0.6/24 10.9.0.1 0',
      },
    });
  });
});

describe('snapshot device layout', () => {
  it('loads only a snapshot taken with the current device set', () => {
    expect(() => assertLayout({ layout: SNAPSHOT_LAYOUT })).not.toThrow();
    for (const old of [{}, { layout: SNAPSHOT_LAYOUT - 1 }]) {
      expect(() => assertLayout(old)).toThrow(
        expect.objectContaining({ code: 'SNAPSHOT_INCOMPATIBLE' }) as Error,
      );
    }
  });
});
