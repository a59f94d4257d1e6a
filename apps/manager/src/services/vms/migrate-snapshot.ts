import type { AgentSnapshotSendResult, AgentVmSpec } from '@hearth/contract';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import type { MoveResult } from './migrate-cold.ts';
import type { VmContext } from './context.ts';
import { migrationEvent } from './migrate.ts';

/** Transfer progress events at most every this many percent (the event stream stays readable). */
const STEP = 20;
const MiB = 2 ** 20;

/**
 * Every file of the source's snapshot streamed through this manager into the destination, which
 * writes it only if it hashes to what the source announced; progress by bytes over all files.
 */
async function transfer(
  ctx: VmContext,
  row: VmRow,
  snap: AgentSnapshotSendResult,
  from: HostRow,
  to: HostRow,
  actor: string,
): Promise<void> {
  const id = row.id;
  const total = snap.files.reduce((n, f) => n + f.encodedBytes, 0);
  let sent = 0;
  let bucket = 0;
  let said = Promise.resolve();
  const say = (text: string) => (said = said.then(() => migrationEvent(ctx, row, actor, text)));
  say(`transferring 0% (${(total / MiB).toFixed(1)} MiB in ${snap.files.length} files)`);
  for (const f of snap.files) {
    const res = await ctx.agents.raw(
      from,
      'migrateSnapshotFile',
      { params: { id, file: f.name }, query: { sha256: f.sha256, encodedBytes: f.encodedBytes } },
      { stream: true },
    );
    const counted = res.body!.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          sent += chunk.byteLength;
          const b = total ? Math.floor((sent / total) * (100 / STEP)) : 0;
          if (b > bucket && sent < total) {
            bucket = b;
            say(`transferring ${b * STEP}%`);
          }
          out.enqueue(chunk);
        },
      }),
    );
    const put = await ctx.agents.raw(
      to,
      'migrateSnapshotReceive',
      { params: { id, file: f.name }, query: { sizeBytes: f.sizeBytes, sha256: f.sha256 } },
      { body: counted, headers: { 'content-type': 'application/octet-stream' }, stream: true },
    );
    await put.text();
  }
  say('transferring 100%');
  await said;
}

/**
 * A running Firecracker VM moves by snapshot (docs/migration.md § Firecracker): not live. The
 * source pauses it and writes a full snapshot, the files are copied to the destination, whose
 * fresh Firecracker loads it and resumes the guest. Downtime runs from the pause to that resume,
 * the copy included. Until the destination resumed, a failure removes whatever the destination
 * holds and only then resumes the source, so the guest never runs twice; a destination that
 * cannot be confirmed clean after it was asked to restore keeps the source paused.
 */
export async function moveSnapshot(
  ctx: VmContext,
  row: VmRow,
  spec: AgentVmSpec,
  from: HostRow,
  to: HostRow,
  actor: string,
): Promise<MoveResult> {
  const id = row.id;
  await migrationEvent(
    ctx,
    row,
    actor,
    `pausing and snapshotting (not live: the guest stands still until it resumes on ${to.name})`,
  );
  // A failed snapshot resumed the source itself.
  const snap = await ctx.agents.call(from, 'migrateSnapshotSend', { params: { id } });
  let restoring = false;
  try {
    await transfer(ctx, row, snap, from, to, actor);
    await migrationEvent(ctx, row, actor, `restoring on ${to.name}`);
    restoring = true;
    const st = await ctx.agents.call(to, 'migrateSnapshotRestore', { params: { id }, body: { spec } });
    await ctx.agents
      .call(from, 'migrateSnapshotDrop', { params: { id } })
      .catch((x: Error) =>
        ctx.log.warn({ vm: id, host: from.name, err: x.message }, 'removing the move snapshot failed'),
      );
    // Source clock to destination clock: hosts are expected to keep NTP time.
    return {
      downtimeMs: Math.max(0, Math.round(st.resumedAt - snap.pausedAt)),
      qemuDowntimeMs: null,
      pid: st.pid,
    };
  } catch (e) {
    const clean = await ctx.agents.call(to, 'migrateSnapshotAbort', { params: { id } }).then(
      () => true,
      (x: Error) => {
        ctx.log.warn({ vm: id, host: to.name, err: x.message }, 'cleaning up the destination failed');
        return false;
      },
    );
    if (!clean && restoring) {
      ctx.log.error(
        { vm: id, from: from.name, to: to.name },
        'the destination may run the VM; the source stays paused',
      );
      throw new Error(
        `${(e as Error).message}; the destination ${to.name} could not be confirmed clean, so the VM stays paused on ${from.name} (resume it there once ${to.name} holds no copy)`,
      );
    }
    await ctx.agents
      .call(from, 'migrateSnapshotCancel', { params: { id } })
      .catch((x: Error) =>
        ctx.log.error({ vm: id, host: from.name, err: x.message }, 'resuming the source failed'),
      );
    throw e;
  }
}
