import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { AgentVmStatus, AppStatus, Vm } from '@hearth/contract';
import { openDb, type Db } from '../../db/index.ts';
import { makeStores, type Stores } from '../../store/index.ts';
import { testImage, testVm } from '../../store/test-rows.ts';
import { VmBus } from '../bus.ts';
import type { VmContext } from './context.ts';
import { OperationTracker } from './operations.ts';
import { reconcileHost } from './reconcile.ts';

// An agent's push carrying the app's status: stored in vms.app, published, and one `app` event
// per message, also while an operation on the VM is in flight (the first reports come during boot).
describe('app status reports', () => {
  let db: Db;
  let s: Stores;
  let ctx: VmContext;
  let hostId = '';
  const published: Vm[] = [];

  beforeAll(async () => {
    db = await openDb({ url: null, pgliteDir: null });
    s = makeStores(db);
    const host = await s.hosts.upsert('h1', 'http://127.0.0.1:1', 't', { cpus: 2 } as never);
    hostId = host.id;
    const img = await s.images.insert(testImage());
    await s.vms.insert(testVm('vm_app', img.id, host.id, { name: 'app' }));
    const bus = new VmBus();
    bus.on('vm', (vm: Vm) => published.push(vm));
    const log = pino({ level: 'silent' });
    ctx = { stores: s, bus, log, operations: new OperationTracker(log) } as unknown as VmContext;
  });
  afterAll(async () => {
    await db.close();
  });

  const app: AppStatus = {
    state: 'restarting',
    pid: null,
    exitCode: 1,
    signal: null,
    reason: null,
    restarts: 3,
    health: null,
    healthLog: [],
    startedAt: null,
    finishedAt: new Date().toISOString(),
  };
  const push = (extra: Partial<AgentVmStatus>): AgentVmStatus => ({
    id: 'vm_app',
    phase: 'stopped',
    reason: null,
    pid: null,
    accel: null,
    startedAt: null,
    bootMs: null,
    ...extra,
  });

  it('stores the status, publishes the VM and records each message as an app event', async () => {
    let release!: () => void;
    // An operation in flight (a boot) does not hold the app's news back.
    ctx.operations.track('vm_app', () => new Promise<void>((r) => (release = r)));
    await reconcileHost(
      ctx,
      hostId,
      [push({ app, appEvents: ['restarted, exit code 1, attempt 3'] })],
      false,
    );
    release();
    const row = await s.vms.getUnscoped('vm_app');
    expect(row?.app).toEqual(app);
    expect(published.at(-1)?.app).toEqual(app);
    const events = await s.vms.events('vm_app', 50);
    expect(events.items.filter((e) => e.type === 'app').map((e) => e.reason)).toEqual([
      'restarted, exit code 1, attempt 3',
    ]);
    // The same status again changes nothing and publishes nothing.
    const n = published.length;
    await reconcileHost(ctx, hostId, [push({ app })], false);
    expect(published.length).toBe(n);
  });

  it('keeps the messages of every push when one batch carries several for the same VM', async () => {
    const before = (await s.vms.events('vm_app', 50)).items.length;
    const running: AppStatus = { ...app, state: 'running', pid: 9, restarts: 4 };
    await reconcileHost(
      ctx,
      hostId,
      [
        push({ app: { ...app, restarts: 4 }, appEvents: ['restarted, exit code 2, attempt 4'] }),
        push({ app: running, appEvents: [] }),
        push({ appEvents: ['health: healthy'] }),
      ],
      false,
    );
    const events = (await s.vms.events('vm_app', 50)).items;
    expect(events.length - before).toBe(2);
    expect(events.filter((e) => e.type === 'app').map((e) => e.reason)).toEqual(
      expect.arrayContaining(['restarted, exit code 2, attempt 4', 'health: healthy']),
    );
    expect((await s.vms.getUnscoped('vm_app'))?.app).toEqual(running);
  });
});
