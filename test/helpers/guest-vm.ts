import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ExecEvent, Vm } from '@hearth/contract';
import { late } from './late.ts';
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
  const platform = late<Platform>("the guest VM's platform");
  const guest = late<Vm>('the guest VM');
  const g = {
    get p(): Platform {
      return platform.get();
    },
    get vm(): Vm {
      return guest.get();
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
    const p = platform.set(await startPlatform({ maxUploadBytes: 8 * 1024 * 1024 }));
    const created = await p.client.call('createVm', {
      body: { name: 'guest-e2e', user: 'alice', password: 'correct horse', memoryMib: 192 },
    });
    // Readiness means the guest agent answered: exec must work the moment the VM is running.
    const vm = guest.set(
      await p.client.call('waitVm', {
        params: { id: created.id },
        query: { state: 'running', timeout: 120 },
      }),
    );
    expect(vm.state).toBe('running');
    expect(vm.users).toEqual(['alice']);
  }, 180_000);
  afterAll(async () => {
    await platform.peek()?.dispose();
  });
  return g;
}
