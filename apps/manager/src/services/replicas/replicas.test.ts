import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Vm } from '@hearth/contract';
import { freshDatabase, pgSkipReason, testPgUrl } from '../../../../../test/helpers/pg.ts';
import { until } from '../../../../../test/helpers/vm.ts';
import { openDb, type Db } from '../../db/index.ts';
import { VmBus } from '../bus.ts';
import { LeaderLease } from './leader.ts';
import { startRelay } from './relay.ts';
import { sharedOperations } from './shared-ops.ts';

const log = pino({ level: 'silent' });
const pgSkip = pgSkipReason();

(pgSkip ? describe.skip : describe)(
  `manager replicas on PostgreSQL${pgSkip ? ` (skipped: ${pgSkip})` : ''}`,
  () => {
    let drop: () => Promise<void>;
    let dbs: Db[] = [];
    beforeAll(async () => {
      const fresh = await freshDatabase(testPgUrl()!);
      drop = fresh.drop;
      dbs = [
        await openDb({ url: fresh.url, pgliteDir: null }),
        await openDb({ url: fresh.url, pgliteDir: null }),
      ];
    });
    afterAll(async () => {
      for (const db of dbs) await db.close();
      await drop?.();
    });

    it('elects one leader; the other takes over when its lease lapses, or at once when it leaves', async () => {
      const a = new LeaderLease(dbs[0]!, { leaseMs: 1500, log });
      const b = new LeaderLease(dbs[1]!, { leaseMs: 1500, log });
      await a.start();
      await b.start();
      expect(a.isLeader()).toBe(true);
      expect(b.isLeader()).toBe(false);
      expect(await b.othersAlive()).toEqual([a.id]);
      // Leadership holds while A renews.
      for (let i = 0; i < 3; i++) await Promise.all([a.tick(), b.tick()]);
      expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
      await a.dispose();
      await until('B leads', () => b.isLeader(), 10_000);
      // A lease that is not renewed (a frozen or killed leader) lapses: C takes over from B.
      const c = new LeaderLease(dbs[0]!, { leaseMs: 1500, log });
      await c.start();
      expect(c.isLeader()).toBe(false);
      (b as unknown as { disposed: boolean }).disposed = true;
      await until('C leads', () => c.isLeader(), 10_000);
      await until('B no longer counts itself leader', () => !b.isLeader(), 10_000);
      await c.dispose();
      await b.dispose();
    });

    it("relays VM changes to the other replica's bus, flagged remote, in order, and never back", async () => {
      const busA = new VmBus();
      const busB = new VmBus();
      const seenA: unknown[] = [];
      const seenB: { state: string; remote: boolean }[] = [];
      busA.on('vm', (vm: Vm, _from: unknown, remote: boolean) => seenA.push([vm.state, remote]));
      busB.on('vm', (vm: Vm, _from: unknown, remote: boolean) => seenB.push({ state: vm.state, remote }));
      const gone: string[] = [];
      busB.on('gone', (id: string) => gone.push(id));
      const loadVm = async () => null;
      const ra = await startRelay({ db: dbs[0]!, bus: busA, origin: 'a', loadVm, log });
      const rb = await startRelay({ db: dbs[1]!, bus: busB, origin: 'b', loadVm, log });
      const states = ['starting', 'running', 'stopping', 'stopped'] as const;
      for (const s of states) busA.publish({ id: 'vm_1', project: 'default', state: s } as Vm);
      busA.gone('vm_1', 'default');
      await until('B heard every change', () => gone.length === 1, 10_000);
      expect(seenB).toEqual(states.map((state) => ({ state, remote: true })));
      expect(seenA).toEqual(states.map((s) => [s, false]));
      await ra.dispose();
      await rb.dispose();
    });

    it("counts another live replica's operations in flight, and not a departed one's", async () => {
      const a = new LeaderLease(dbs[0]!, { id: 'mgr_a', leaseMs: 1500, log });
      const b = new LeaderLease(dbs[1]!, { id: 'mgr_b', leaseMs: 1500, log });
      await a.start();
      await b.start();
      const opsA = sharedOperations(dbs[0]!, a.id, a.leaseMs, log);
      const opsB = sharedOperations(dbs[1]!, b.id, b.leaseMs, log);
      opsA.begin('vm_x');
      await until('B sees the operation', async () => (await opsB.elsewhere()).has('vm_x'), 10_000);
      expect((await opsA.elsewhere()).has('vm_x')).toBe(false);
      opsA.end('vm_x');
      await until('and its end', async () => !(await opsB.elsewhere()).has('vm_x'), 10_000);
      opsA.begin('vm_y');
      await until('B sees the next', async () => (await opsB.elsewhere()).has('vm_y'), 10_000);
      // A dies without a word: once its presence lapses its operation counts as interrupted.
      (a as unknown as { disposed: boolean }).disposed = true;
      await until('A gone', async () => !(await opsB.elsewhere()).has('vm_y'), 10_000);
      await b.dispose();
    });
  },
);
