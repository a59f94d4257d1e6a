import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ExecEvent, Vm } from '@hearth/contract';
import { startPlatform, type Platform } from './platform.ts';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One stream's bytes out of a streamed exec's events. */
export const joined = (events: ExecEvent[], type: 'stdout' | 'stderr') =>
  Buffer.concat(events.flatMap((e) => (e.type === type ? [Buffer.from(e.data, 'base64')] : [])));

/**
 * The guest agent tests' VM: in the enclosing file or describe, starts a platform and boots one VM
 * named guest-e2e with the user alice (beforeAll), shared by its tests, and disposes of it all
 * (afterAll).
 */
export function useGuestVm() {
  let platform: Platform | null = null;
  let guest: Vm | null = null;
  const g = {
    get p(): Platform {
      if (!platform) throw new Error('the guest VM starts in beforeAll');
      return platform;
    },
    get vm(): Vm {
      if (!guest) throw new Error('the guest VM starts in beforeAll');
      return guest;
    },
    /** Streams an exec and collects every NDJSON event. */
    async execEvents(body: Record<string, unknown>): Promise<ExecEvent[]> {
      const res = await g.p.client.raw('execVm', {
        params: { id: g.vm.id },
        body: { ...body, stream: true } as never,
      });
      expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
      const events: ExecEvent[] = [];
      for await (const line of createInterface({ input: Readable.fromWeb(res.body as never) })) {
        if (line) events.push(JSON.parse(line) as ExecEvent);
      }
      return events;
    },
  };
  beforeAll(async () => {
    platform = await startPlatform({ maxUploadBytes: 8 * 1024 * 1024 });
    const created = await platform.client.call('createVm', {
      body: { name: 'guest-e2e', user: 'alice', password: 'correct horse', memoryMib: 192 },
    });
    // Readiness means the guest agent answered: exec must work the moment the VM is running.
    guest = await platform.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 120 },
    });
    expect(guest.state).toBe('running');
    expect(guest.users).toEqual(['alice']);
  }, 180_000);
  afterAll(async () => {
    await platform?.dispose();
  });
  return g;
}
