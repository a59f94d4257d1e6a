import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { RUN_DIR_FILES, SNAPSHOT_INFO_FILE, type VmmSnapshotInfo } from '@hearth/vmm';
import type { QmpClient } from './qmp.ts';

const run = promisify(execFile);

export const SNAPSHOT_FILES = { state: 'vmstate.bin', memory: 'vmstate.bin', disk: 'disk.raw' } as const;

/** QEMU's default migration bandwidth cap (128 MiB/s) would make every snapshot needlessly slow. */
const UNLIMITED = 64 * 1024 * 1024 * 1024;

interface MigrateStatus {
  status: string;
  'error-desc'?: string;
}

async function waitMigration(qmp: QmpClient, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await qmp.execute<MigrateStatus>('query-migrate');
    if (s.status === 'completed') return;
    if (s.status === 'failed' || s.status === 'cancelled') {
      throw new Error(
        `${what} failed: QEMU reported ${s.status}${s['error-desc'] ? ` (${s['error-desc']})` : ''}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`${what} timed out after ${timeoutMs / 1000} s (${s.status})`);
    await sleep(10);
  }
}

/** Copies a disk without writing its holes (reflink where the filesystem can). */
export async function copyDisk(from: string, to: string): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', from, to]);
}

/**
 * Saves a paused QEMU's memory and device state into `dir` through a Unix socket we serve
 * (QEMU 7.2 has no `file:` migration; `exec:` would mean a shell string), then copies its disk
 * while it is still paused, so memory and disk describe the same instant.
 */
export async function saveState(
  qmp: QmpClient,
  dir: string,
  diskPath: string,
  info: Omit<VmmSnapshotInfo, 'files'>,
): Promise<VmmSnapshotInfo> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, 'migrate.sock');
  await rm(sock, { force: true });
  let received: Promise<void> = Promise.resolve();
  const server = createServer((conn) => {
    received = pipeline(conn, createWriteStream(join(dir, SNAPSHOT_FILES.state)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  try {
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED });
    await qmp.execute('migrate', { uri: `unix:${sock}` });
    await waitMigration(qmp, 'Saving the VM state', 120_000);
    await received;
  } finally {
    server.close();
    await rm(sock, { force: true });
  }
  await copyDisk(diskPath, join(dir, SNAPSHOT_FILES.disk));
  const full: VmmSnapshotInfo = { ...info, files: { ...SNAPSHOT_FILES } };
  await writeFile(join(dir, SNAPSHOT_INFO_FILE), JSON.stringify(full, null, 2) + '\n');
  return full;
}

/**
 * Feeds a saved state into a QEMU started with `-incoming defer`: QEMU listens on a socket we
 * name, we stream the file into it, and the VM is left paused at the saved instant.
 */
export async function loadState(qmp: QmpClient, dir: string, runDir: string): Promise<void> {
  const sock = join(runDir, RUN_DIR_FILES.qemuIncoming);
  await rm(sock, { force: true });
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNLIMITED });
  await qmp.execute('migrate-incoming', { uri: `unix:${sock}` });
  try {
    for (let i = 0; ; i++) {
      try {
        await stat(sock);
        break;
      } catch {
        if (i > 500) throw new Error('Restoring the VM state failed: QEMU never listened for it');
        await sleep(10);
      }
    }
    const conn = createConnection(sock);
    await new Promise<void>((resolve, reject) => {
      conn.once('connect', () => resolve());
      conn.once('error', reject);
    });
    // QEMU may close its end as soon as it has read the whole stream, before our side sees the
    // write finish ("premature close"): QEMU's own migration status is the verdict, not the pipe.
    const fed = pipeline(createReadStream(join(dir, SNAPSHOT_FILES.state)), conn).then(
      () => null,
      (e: Error) => e,
    );
    try {
      await waitMigration(qmp, 'Restoring the VM state', 120_000);
    } catch (e) {
      const pipeError = await fed;
      throw pipeError
        ? new Error(`${(e as Error).message}; feeding the state failed: ${pipeError.message}`)
        : e;
    }
    await fed;
  } finally {
    await rm(sock, { force: true });
  }
}

export async function readSnapshotInfo(dir: string): Promise<VmmSnapshotInfo> {
  const text = await readFile(join(dir, SNAPSHOT_INFO_FILE), 'utf8').catch(() => null);
  if (!text) throw new Error(`Restoring failed: ${dir} holds no snapshot (${SNAPSHOT_INFO_FILE} is missing)`);
  return JSON.parse(text) as VmmSnapshotInfo;
}
