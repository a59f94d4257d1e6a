import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClusterScale } from '../../bench/cluster-scale-run.ts';
import { freshDatabase, pgSkipReason, testPgUrl } from '../helpers/pg.ts';

// The short run of bench/cluster-scale.ts: 10 SIMULATED HOSTS (control-plane only, they boot
// nothing) × 5 VMs against `hearth manager` on PostgreSQL. It checks correctness, never timings:
// every VM created through the API ends running on the host it was placed on, heartbeats and
// reconciles happen, and state changes (a host's push, an API start) reach the event stream.
const skip = pgSkipReason();
describe.skipIf(skip !== null)(`cluster scale, short run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let db: Awaited<ReturnType<typeof freshDatabase>> | null = null;
  beforeAll(async () => {
    db = await freshDatabase(testPgUrl()!);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('places 50 VMs on 10 simulated hosts, all running, and streams their changes', async () => {
    const r = await runClusterScale({
      hosts: 10,
      vmsPerHost: 5,
      replicas: 1,
      databaseUrl: db!.url,
      concurrency: 8,
      windowMs: 6000,
      samples: 3,
      eventSamples: 5,
    });
    expect(r.runningAfterCreate).toBe(50);
    expect(r.consistent).toBe(50);
    expect(r.hostCalls.startVm).toBeGreaterThanOrEqual(50);
    const [phase] = r.phases;
    expect(phase!.failures).toEqual([]);
    expect(phase!.heartbeatClient.n).toBeGreaterThan(0);
    expect(phase!.reconcileHeartbeat.n).toBeGreaterThan(0);
    expect(phase!.reconcilePush.n).toBe(5);
    const pushed = phase!.events['host push (stopped) → event, same replica'];
    const started = phase!.events['API start → event, same replica'];
    expect(pushed).toMatchObject({ n: 5, missing: 0 });
    expect(started).toMatchObject({ n: 5, missing: 0 });
    for (const d of Object.values(phase!.list)) expect(d.n).toBe(3);
  });
});
