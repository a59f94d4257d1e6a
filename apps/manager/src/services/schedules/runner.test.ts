import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import type { Stores } from '../../store/index.ts';
import type { ScheduleRow } from '../../store/schedules.ts';
import type { SnapshotService } from '../snapshot-service.ts';
import { ScheduleRunner, type RunReport } from './runner.ts';

/** Retention over three snapshots, newest first; `refuse` is how deleting `snap_base` fails. */
async function pruneWith(refuse: HearthError) {
  const deleted: string[] = [];
  const events: string[] = [];
  const rows = ['snap_new', 'snap_base', 'snap_old'].map((id, i) => ({
    id,
    name: id.slice(5),
    created_at: new Date(Date.now() - i * 1000),
  }));
  const stores = {
    schedules: { snapshotsOf: async () => rows },
    vms: {
      addEvent: async (_vm: string, type: string, _a: string, text: string) =>
        void events.push(`${type}: ${text}`),
    },
  } as unknown as Stores;
  const snapshots = {
    delete: async (id: string) => {
      if (id === 'snap_base') throw refuse;
      deleted.push(id);
    },
  } as unknown as SnapshotService;
  const runner = new ScheduleRunner({
    stores,
    snapshots,
    log: pino({ level: 'silent' }),
    clock: () => new Date(),
  });
  const report: RunReport = { ran: [], taken: [], pruned: [], failed: [] };
  const schedule = { id: 'sch_1', keep_count: 1, keep_age_s: null } as unknown as ScheduleRow;
  const prune = (runner as unknown as { prune: (...a: unknown[]) => Promise<void> }).prune.bind(runner);
  const result = await prune(schedule, 'vm_1', 'default', new Date(), report, 'schedule:sch_1').then(
    () => null,
    (e: unknown) => e,
  );
  return { deleted, events, report, result };
}

describe('snapshot retention', () => {
  it('keeps a snapshot diff snapshots build on, says so, and prunes the rest', async () => {
    const inUse = new HearthError(
      'SNAPSHOT_IN_USE',
      'Deleting snapshot base failed: the diff snapshot d1 builds on it',
    );
    const r = await pruneWith(inUse);
    expect(r.result).toBeNull();
    expect(r.deleted).toEqual(['snap_old']);
    expect(r.report.pruned).toEqual(['snap_old']);
    expect(r.events).toEqual([
      'snapshot-kept: retention kept base: Deleting snapshot base failed: the diff snapshot d1 builds on it',
      'snapshot-pruned: snapshot old (snap_old) deleted by retention',
    ]);
  });

  it('stops on any other failure (the schedule records it)', async () => {
    const down = new HearthError('AGENT_UNREACHABLE', 'host h1 did not answer');
    const r = await pruneWith(down);
    expect(r.result).toBe(down);
    expect(r.deleted).toEqual([]);
  });
});
