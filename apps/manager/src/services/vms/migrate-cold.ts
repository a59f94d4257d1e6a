import { fromWeb } from '@hearth/contract/streams';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import type { VmContext } from './context.ts';
import { migrationEvent } from './migrate.ts';
import { removeCopy } from './move-leftovers.ts';
import { copySnapshots } from './move-snapshots.ts';

export interface MoveResult {
  downtimeMs: number | null;
  qemuDowntimeMs: number | null;
  pid: number | null;
}

/**
 * A stopped VM moves cold: its disk, read once in the sparse encoding (export.ts on the agent),
 * streamed from the source agent through this manager into the destination's import, which
 * checks the sha256 the source announced. A VM that never started has no disk yet: only the
 * record moves, and its first start makes the disk on the new host. `carry`: ids of its snapshots
 * on the source that move with it (a paused E2B sandbox's memory snapshot).
 */
export async function moveCold(
  ctx: VmContext,
  row: VmRow,
  from: HostRow,
  to: HostRow,
  carry: string[] = [],
): Promise<MoveResult> {
  const none = { downtimeMs: null, qemuDowntimeMs: null, pid: null };
  if (row.state === 'created') return none;
  // Its snapshots first (move-snapshots.ts); the caller removes their copies if anything fails.
  await copySnapshots(ctx, carry, from, to, (text) => migrationEvent(ctx, row, 'system', text));
  const info = await ctx.agents.call(from, 'exportInfo', { params: { id: row.id }, query: { file: 'disk' } });
  await migrationEvent(
    ctx,
    row,
    'system',
    `copying disk: ${(info.encodedBytes / 2 ** 20).toFixed(1)} MiB of ${(info.sizeBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  const res = await ctx.agents.raw(
    from,
    'exportFile',
    { params: { id: row.id }, query: { file: 'disk', sha256: info.sha256, encodedBytes: info.encodedBytes } },
    { stream: true },
  );
  try {
    const put = await ctx.agents.raw(
      to,
      'importDisk',
      {
        params: { id: row.id },
        query: { sizeBytes: info.sizeBytes, hasAgent: info.hasAgent ? 'true' : 'false', sha256: info.sha256 },
      },
      {
        body: fromWeb(res.body!) as never,
        headers: { 'content-type': 'application/octet-stream' },
        stream: true,
      },
    );
    await put.text();
  } catch (e) {
    // Whatever reached the destination goes (the import removes a partial disk itself).
    await removeCopy(ctx, to, row.id, `a cold move from ${from.name} failed`);
    throw e;
  }
  return none;
}
