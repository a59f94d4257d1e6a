import type { Logger } from 'pino';
import { HearthError } from '@hearth/contract';
import type { Stores } from '../../store/index.ts';
import type { ScheduleRow } from '../../store/schedules.ts';
import type { SnapshotService } from '../snapshot-service.ts';
import { nextRun } from './cron.ts';

export interface ScheduleRunnerDeps {
  stores: Stores;
  snapshots: SnapshotService;
  log: Logger;
  /** Now; a test moves it to fire schedules and age snapshots without waiting. */
  clock: () => Date;
  /** How often due schedules are looked for (default 30 s; cron has minute resolution). */
  intervalMs?: number;
  /**
   * Whether this process runs schedules: with several managers only the leader should. One
   * manager process today, so always true unless a caller says otherwise.
   */
  isLeader?: () => boolean | Promise<boolean>;
}

/** What one pass did, for tests and logs. */
export interface RunReport {
  ran: string[];
  taken: string[];
  pruned: string[];
  failed: { vm: string; error: string }[];
}

/**
 * Runs due snapshot schedules in the background: each due schedule is claimed (its next run moved
 * on in one conditional UPDATE, so a run happens once even if two passes race), snapshots its VMs,
 * then deletes its snapshots beyond the retention. Failures become VM events (`snapshot-failed`)
 * and the schedule's `lastError`; the schedule keeps running.
 */
export class ScheduleRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RunReport> | null = null;

  constructor(private readonly deps: ScheduleRunnerDeps) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runDue().catch(() => undefined), this.deps.intervalMs ?? 30_000);
    this.timer.unref();
  }

  /** One pass over due schedules; a pass already under way is joined, not doubled. */
  runDue(): Promise<RunReport> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  async dispose(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<RunReport> {
    const report: RunReport = { ran: [], taken: [], pruned: [], failed: [] };
    if (this.deps.isLeader && !(await this.deps.isLeader())) return report;
    const now = this.deps.clock();
    for (const s of await this.deps.stores.schedules.due(now)) {
      let next: Date | null;
      try {
        next = nextRun(s.cron, now);
      } catch {
        next = null; // an expression that no longer parses stops, with its error kept
      }
      if (!(await this.deps.stores.schedules.claim(s.id, s.next_run_at!, next, now))) continue;
      report.ran.push(s.id);
      await this.runOne(s, now, report).catch((e: unknown) => {
        this.deps.log.error({ err: e, schedule: s.id }, 'snapshot schedule run failed');
      });
    }
    return report;
  }

  private async targets(s: ScheduleRow): Promise<string[]> {
    if (s.vm_id) return [s.vm_id];
    return this.deps.stores.schedules.vmsMatching(s.project, s.selector ?? {});
  }

  private async runOne(s: ScheduleRow, now: Date, report: RunReport): Promise<void> {
    const { stores, snapshots } = this.deps;
    const actor = `schedule:${s.name}`;
    const errors: string[] = [];
    for (const vmId of await this.targets(s)) {
      const vm = await stores.vms.getUnscoped(vmId);
      if (!vm) {
        errors.push(`VM ${vmId} no longer exists`);
        continue;
      }
      // A label schedule covers the VMs that are up; one naming a VM reports it being down. A
      // disk-only schedule also covers stopped VMs: their disks can be copied as they are.
      const up = vm.state === 'running' || vm.state === 'paused' || (!s.memory && vm.state === 'stopped');
      if (s.selector && !up) continue;
      try {
        const kind = s.memory ? 'memory' : 'disk';
        const snap = await snapshots.create(vm.id, vm.project, { kind }, actor, s.id);
        report.taken.push(snap.id);
      } catch (e) {
        const msg = (e as Error).message;
        errors.push(`${vm.name}: ${msg}`);
        report.failed.push({ vm: vm.id, error: msg });
        await stores.vms.addEvent(vm.id, 'snapshot-failed', actor, `scheduled snapshot failed: ${msg}`);
      }
      await this.prune(s, vm.id, vm.project, now, report, actor).catch(async (e: unknown) => {
        const msg = (e as Error).message;
        errors.push(`${vm.name}: pruning: ${msg}`);
        await stores.vms.addEvent(vm.id, 'snapshot-failed', actor, `pruning old snapshots failed: ${msg}`);
      });
    }
    await stores.schedules.setError(s.id, errors.length ? errors.join('; ').slice(0, 2000) : null);
  }

  /** Deletes the schedule's snapshots of `vmId` past its count or age; never other snapshots. */
  private async prune(
    s: ScheduleRow,
    vmId: string,
    project: string,
    now: Date,
    report: RunReport,
    actor: string,
  ): Promise<void> {
    const mine = await this.deps.stores.schedules.snapshotsOf(s.id, vmId);
    const oldest = s.keep_age_s !== null ? now.getTime() - s.keep_age_s * 1000 : null;
    // What this run just took is never too old: its age is measured against the database's clock.
    const doomed = mine.filter(
      (snap, i) =>
        (s.keep_count !== null && i >= s.keep_count) ||
        (oldest !== null && !report.taken.includes(snap.id) && new Date(snap.created_at).getTime() < oldest),
    );
    for (const snap of doomed) {
      const kept = await this.deps.snapshots.delete(snap.id, project).then(
        () => null,
        (e: unknown) => {
          // Diff snapshots a user took on top of it need its memory: it stays until they go.
          if (e instanceof HearthError && e.code === 'SNAPSHOT_IN_USE') return e.message;
          throw e;
        },
      );
      if (kept) {
        await this.deps.stores.vms.addEvent(
          vmId,
          'snapshot-kept',
          actor,
          `retention kept ${snap.name}: ${kept}`,
        );
        continue;
      }
      report.pruned.push(snap.id);
      await this.deps.stores.vms.addEvent(
        vmId,
        'snapshot-pruned',
        actor,
        `snapshot ${snap.name} (${snap.id}) deleted by retention`,
      );
    }
  }
}
