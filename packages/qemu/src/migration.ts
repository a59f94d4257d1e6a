import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { SNAPSHOT_INFO_FILE, type VmmSnapshotInfo } from '@hearth/vmm';
import { MigrationWatch, type MigrateInfo, type MigrationLimits } from './migration-watch.ts';
import type { QmpClient, QmpEvent } from './qmp.ts';

const run = promisify(execFile);

export const SNAPSHOT_FILES = { state: 'vmstate.bin', memory: 'vmstate.bin', disk: 'disk.raw' } as const;

/** QEMU's default migration bandwidth cap (128 MiB/s) would make every snapshot needlessly slow. */
const UNLIMITED = 64 * 1024 * 1024 * 1024;

/**
 * The file descriptor a restoring QEMU reads its saved state from: the state file is opened by
 * us and handed to QEMU as its standard input, so QEMU reads the file itself (no socket, no
 * copy through this process).
 */
const INCOMING_FD = 0;

/**
 * A save fails when QEMU's sending stops; its total stays under the 300 s the manager's HTTP
 * client waits for the agent's answer (undici's header timeout), disk copy included.
 */
export const SAVE_LIMITS: MigrationLimits = { stallMs: 60_000, totalMs: 270_000, pollMs: 2000 };
/**
 * The incoming side reports only its status (no byte counts), so a restore counts as stalled
 * when its status does not change for as long as a restore was allowed in total before.
 */
export const LOAD_LIMITS: MigrationLimits = { stallMs: 120_000, totalMs: 270_000, pollMs: 2000 };

/**
 * Runs `start` (a `migrate` or `migrate-incoming`) and resolves when QEMU announces the
 * migration completed: QMP's MIGRATION events. A QEMU that exits meanwhile (a failed incoming
 * migration ends the process) or reports failure rejects; so does one whose progress
 * (`query-migrate`, asked every `pollMs`) stops for `stallMs`, with how far it got.
 */
async function migrate(
  qmp: QmpClient,
  what: string,
  limits: MigrationLimits,
  start: () => Promise<unknown>,
): Promise<void> {
  let onEvent: (ev: QmpEvent) => void = () => undefined;
  let onClose: () => void = () => undefined;
  const watch = new MigrationWatch(limits, Date.now());
  let giveUp: (reason: string) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    onEvent = (ev) => {
      if (ev.event !== 'MIGRATION') return;
      const status = String(ev.data?.status ?? '');
      if (status === 'completed') resolve();
      else if (status === 'failed' || status === 'cancelled') {
        void qmp.execute<MigrateInfo>('query-migrate').then(
          (s) =>
            reject(
              new Error(
                `${what} failed: QEMU reported ${status}${s['error-desc'] ? ` (${s['error-desc']})` : ''}`,
              ),
            ),
          () => reject(new Error(`${what} failed: QEMU reported ${status}`)),
        );
      }
    };
    onClose = () => reject(new Error(`${what} failed: QEMU exited during the migration`));
    giveUp = (reason) => reject(new Error(`${what} ${reason}`));
  });
  qmp.on('event', onEvent);
  qmp.once('close', onClose);
  let asking = false;
  const poll = setInterval(() => {
    if (asking) return;
    asking = true;
    void qmp
      .execute<MigrateInfo>('query-migrate')
      .then(
        (s) => watch.observe(s, Date.now()),
        () => undefined,
      )
      .finally(() => {
        asking = false;
        const reason = watch.check(Date.now());
        if (reason) giveUp(reason);
      });
  }, limits.pollMs);
  try {
    await qmp.execute('migrate-set-capabilities', {
      capabilities: [{ capability: 'events', state: true }],
    });
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED });
    await start();
    await done;
  } catch (e) {
    // A save given up must not go on writing (nor keep the VM from continuing).
    await qmp.execute('migrate_cancel').catch(() => undefined);
    throw e;
  } finally {
    clearInterval(poll);
    qmp.off('event', onEvent);
    qmp.off('close', onClose);
  }
}

/** Copies a disk without writing its holes (reflink where the filesystem can). */
export async function copyDisk(from: string, to: string): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', from, to]);
}

/**
 * Saves a paused QEMU's memory and device state into `dir` through a Unix socket we serve
 * (QEMU 7.2 has no `file:` migration; `exec:` would mean a shell string), then copies its disk
 * while it is still paused, so memory and disk describe the same instant. A `confined` QEMU
 * (own uid, run directory as working directory) reaches the socket in its run directory (the
 * disk's), by a relative name, handed to its uid.
 */
export async function saveState(
  qmp: QmpClient,
  dir: string,
  diskPath: string,
  info: Omit<VmmSnapshotInfo, 'files'>,
  confined = false,
): Promise<VmmSnapshotInfo> {
  await mkdir(dir, { recursive: true });
  const sock = join(confined ? dirname(diskPath) : dir, 'migrate.sock');
  const uri = confined ? 'unix:migrate.sock' : `unix:${sock}`;
  await rm(sock, { force: true });
  let received: Promise<void> = Promise.resolve();
  const server = createServer((conn) => {
    received = pipeline(conn, createWriteStream(join(dir, SNAPSHOT_FILES.state)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  if (confined) {
    const owner = await stat(diskPath);
    await chown(sock, owner.uid, owner.gid);
  }
  try {
    // The disk copy runs while QEMU writes its state: both describe the paused instant.
    const disk = copyDisk(diskPath, join(dir, SNAPSHOT_FILES.disk)).then(
      () => null,
      (e: Error) => e,
    );
    const state = migrate(qmp, 'Saving the VM state', SAVE_LIMITS, () =>
      qmp.execute('migrate', { uri }),
    ).then(() => received);
    const [copied] = await Promise.all([disk, state]);
    if (copied) throw new Error(`Saving the VM's disk failed: ${copied.message}`);
  } finally {
    server.close();
    await rm(sock, { force: true });
  }
  const full: VmmSnapshotInfo = { ...info, files: { ...SNAPSHOT_FILES } };
  await writeFile(join(dir, SNAPSHOT_INFO_FILE), JSON.stringify(full, null, 2) + '\n');
  return full;
}

/**
 * Loads the saved state into a QEMU started with `-incoming defer` and the state file open on
 * INCOMING_FD: QEMU reads the file itself. The VM is left paused at the saved instant.
 */
export async function loadState(qmp: QmpClient): Promise<void> {
  await migrate(qmp, 'Restoring the VM state', LOAD_LIMITS, () =>
    qmp.execute('migrate-incoming', { uri: `fd:${INCOMING_FD}` }),
  );
}

export async function readSnapshotInfo(dir: string): Promise<VmmSnapshotInfo> {
  const text = await readFile(join(dir, SNAPSHOT_INFO_FILE), 'utf8').catch(() => null);
  if (!text) throw new Error(`Restoring failed: ${dir} holds no snapshot (${SNAPSHOT_INFO_FILE} is missing)`);
  return JSON.parse(text) as VmmSnapshotInfo;
}
