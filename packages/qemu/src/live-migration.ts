import type { QmpClient, QmpEvent } from './qmp.ts';

/** Where a live migration goes: the destination QEMU's NBD server and migration listener. */
export interface LiveTarget {
  host: string;
  nbdPort: number;
  migratePort: number;
  /** Drive ids (`root`, `vol0`, …) mirrored to the NBD exports of the same names. */
  drives: string[];
}

/**
 * How the memory moves. `live`: pre-copy while the guest runs, QEMU pausing it for the last pass.
 * `paused`: the guest is paused before the memory copy starts (the disk is still mirrored while it
 * runs). Under TCG the memory must move paused: QEMU before 9.0 (commit 03bfc2188f, "physmem: Fix
 * migration dirty bitmap coherency with TCG memory access") clears the migration dirty bitmap
 * without resetting TCG's TLB, so a store through a TLB entry that still takes its page for dirty
 * sets no bit and the page is never sent again: the destination runs with stale pages (a 512 MiB
 * guest's kernel hit BUG there). KVM's dirty log is not affected.
 */
export type MemoryCopy = 'live' | 'paused';

export interface LiveProgress {
  phase: 'mirroring' | 'copying-memory' | 'switching-over';
  /** 0–100 within the phase. */
  percent: number;
}

/** What QEMU reported for a finished live migration. */
export interface LiveResult {
  /**
   * How long the guest stood still on the source side: QEMU's own measure for a live copy, from
   * the pause to completion for a paused one.
   */
  downtimeMs: number;
  /** QEMU's total time of the RAM migration. */
  ramTotalMs: number;
  /** When the source finished (epoch ms), for the switchover measured across hosts. */
  completedAt: number;
  /** How long the disk mirror took to be in sync. */
  mirrorMs: number;
}

interface BlockJob {
  device: string;
  len: number;
  offset: number;
  ready?: boolean;
}
interface MigrateStatus {
  status?: string;
  'error-desc'?: string;
  downtime?: number;
  'total-time'?: number;
  ram?: { transferred?: number; total?: number; remaining?: number };
}

/** No progress (bytes mirrored or sent) for this long gives up a live migration. */
const STALL_MS = 60_000;
const POLL_MS = 250;
const UNLIMITED = 64 * 1024 * 1024 * 1024;
const jobId = (drive: string) => `migrate-${drive}`;

/**
 * The destination's half, on a QEMU started with `-incoming defer -S`: an NBD server exporting
 * every drive writable (the source mirrors its disks into them), then the migration listener.
 */
export async function listenIncoming(qmp: QmpClient, t: Omit<LiveTarget, 'host'>): Promise<void> {
  await qmp.execute('nbd-server-start', {
    addr: { type: 'inet', data: { host: '0.0.0.0', port: String(t.nbdPort) } },
  });
  for (const d of t.drives) await qmp.execute('nbd-server-add', { device: d, name: d, writable: true });
  await qmp.execute('migrate-set-capabilities', {
    capabilities: [{ capability: 'events', state: true }],
  });
  await qmp.execute('migrate-incoming', { uri: `tcp:0.0.0.0:${t.migratePort}` });
}

/**
 * Resolves once the incoming migration completed (the guest is then paused here, `-S`), rejects
 * when it failed or the QEMU exited; the NBD server is stopped either way it ends well.
 */
export async function awaitIncoming(qmp: QmpClient): Promise<void> {
  const s = await qmp.execute<MigrateStatus>('query-migrate');
  if (s.status !== 'completed') {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        void qmp.execute<MigrateStatus>('query-migrate').then((q) => check(q.status), reject);
      }, POLL_MS);
      const onEvent = (ev: QmpEvent) => {
        if (ev.event === 'MIGRATION') check(String(ev.data?.status ?? ''));
      };
      const onClose = () => finish(new Error('the incoming QEMU exited during the migration'));
      function check(status: string | undefined) {
        if (status === 'completed') finish(null);
        else if (status === 'failed' || status === 'cancelled')
          finish(new Error(`the incoming migration ${status}`));
      }
      function finish(e: Error | null) {
        clearInterval(timer);
        qmp.off('event', onEvent);
        qmp.off('close', onClose);
        if (e) reject(e);
        else resolve();
      }
      qmp.on('event', onEvent);
      qmp.once('close', onClose);
    });
  }
  await qmp.execute('nbd-server-stop');
}

/**
 * The source's half: every drive mirrored to the destination's NBD export (write-blocking once
 * in sync, so no write the guest makes is lost), then memory sent by pre-copy while the guest
 * runs, the guest paused by QEMU for the last pass. On success the source is left paused
 * (`postmigrate`) with the mirrors cancelled; on failure the migration and mirrors are cancelled
 * and a source paused for the switchover runs again.
 */
export async function sendLive(
  qmp: QmpClient,
  t: LiveTarget,
  onProgress: (p: LiveProgress) => void,
  memory: MemoryCopy = 'live',
): Promise<LiveResult> {
  let closed = false;
  const onClose = () => (closed = true);
  qmp.once('close', onClose);
  try {
    const mirrorStart = Date.now();
    for (const d of t.drives) {
      await qmp.execute('drive-mirror', {
        'job-id': jobId(d),
        device: d,
        target: `nbd://${t.host}:${t.nbdPort}/${d}`,
        format: 'raw',
        mode: 'existing',
        sync: 'full',
        'copy-mode': 'write-blocking',
      });
    }
    await pollUntil(
      qmp,
      () => closed,
      async () => {
        const jobs = (await qmp.execute<BlockJob[]>('query-block-jobs')).filter((j) =>
          j.device.startsWith('migrate-'),
        );
        if (jobs.length < t.drives.length) throw new Error('a disk mirror ended before it was in sync');
        const len = jobs.reduce((n, j) => n + j.len, 0);
        const off = jobs.reduce((n, j) => n + j.offset, 0);
        onProgress({ phase: 'mirroring', percent: len ? Math.floor((off / len) * 100) : 100 });
        return { done: jobs.every((j) => j.ready), key: String(off) };
      },
    );
    const mirrorMs = Date.now() - mirrorStart;
    await qmp.execute('migrate-set-capabilities', {
      capabilities: [{ capability: 'events', state: true }],
    });
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED });
    // The mirror stays in sync while paused (write-blocking); a failure continues the guest (abortSend).
    const pausedAt = memory === 'paused' ? Date.now() : null;
    if (memory === 'paused') await qmp.execute('stop');
    await qmp.execute('migrate', { uri: `tcp:${t.host}:${t.migratePort}` });
    let last: MigrateStatus = {};
    await pollUntil(
      qmp,
      () => closed,
      async () => {
        last = await qmp.execute<MigrateStatus>('query-migrate');
        if (last.status === 'failed' || last.status === 'cancelled')
          throw new Error(
            `QEMU reported the migration ${last.status}${last['error-desc'] ? `: ${last['error-desc']}` : ''}`,
          );
        const ram = last.ram;
        const pct = ram?.total
          ? Math.min(99, Math.floor(((ram.total - (ram.remaining ?? 0)) / ram.total) * 100))
          : 0;
        if (last.status === 'device' || last.status === 'pre-switchover')
          onProgress({ phase: 'switching-over', percent: 0 });
        else onProgress({ phase: 'copying-memory', percent: pct });
        return { done: last.status === 'completed', key: `${last.status}:${ram?.transferred ?? 0}` };
      },
    );
    const completedAt = Date.now();
    for (const d of t.drives)
      await qmp.execute('block-job-cancel', { device: jobId(d) }).catch(() => undefined);
    onProgress({ phase: 'switching-over', percent: 100 });
    const downtimeMs = pausedAt === null ? (last.downtime ?? 0) : completedAt - pausedAt;
    return { downtimeMs, ramTotalMs: last['total-time'] ?? 0, completedAt, mirrorMs };
  } catch (e) {
    await abortSend(qmp, t.drives);
    throw e;
  } finally {
    qmp.off('close', onClose);
  }
}

/** Cancels a live migration from the source: migration, mirrors, and the guest runs again. */
export async function abortSend(qmp: QmpClient, drives: string[]): Promise<void> {
  if (qmp.isClosed) return;
  await qmp.execute('migrate_cancel').catch(() => undefined);
  for (const d of drives)
    await qmp.execute('block-job-cancel', { device: jobId(d), force: true }).catch(() => undefined);
  const s = await qmp.execute<{ status: string }>('query-status').catch(() => null);
  // Paused by the migration itself (its last pass, or completed): the guest was running before.
  if (s && ['postmigrate', 'finish-migrate', 'paused'].includes(s.status))
    await qmp.execute('cont').catch(() => undefined);
}

/** Polls `step` until it says done; no change in its `key` for STALL_MS gives up. */
async function pollUntil(
  qmp: QmpClient,
  gone: () => boolean,
  step: () => Promise<{ done: boolean; key: string }>,
): Promise<void> {
  let key = '';
  let movedAt = Date.now();
  for (;;) {
    if (gone()) throw new Error('the source QEMU exited during the migration');
    const r = await step();
    if (r.done) return;
    if (r.key !== key) {
      key = r.key;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > STALL_MS) {
      throw new Error(`the migration made no progress for ${STALL_MS / 1000} s`);
    }
    await new Promise((res) => setTimeout(res, POLL_MS));
    if (qmp.isClosed) throw new Error('the source QEMU exited during the migration');
  }
}
