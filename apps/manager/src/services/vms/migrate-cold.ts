import type { AgentExportInfo } from '@hearth/contract';
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
 * A stopped VM moves cold: its disk, then each attached volume's file, read once in the sparse
 * encoding (export.ts on the agent), streamed from the source agent through this manager into the
 * destination, which checks the sha256 the source announced. A VM that never started has no disk
 * yet: only its volumes' files and the record move, and its first start makes the disk on the new
 * host. The records name the destination only after everything arrived (migrate.ts). `carry`: ids
 * of its snapshots on the source that move with it (a paused E2B sandbox's memory snapshot).
 */
export async function moveCold(
  ctx: VmContext,
  row: VmRow,
  from: HostRow,
  to: HostRow,
  carry: string[] = [],
): Promise<MoveResult> {
  const none = { downtimeMs: null, qemuDowntimeMs: null, pid: null };
  const volumes = await ctx.stores.volumes.forVm(row.id);
  // Its snapshots first (move-snapshots.ts); the caller removes their copies if anything fails.
  await copySnapshots(ctx, carry, from, to, (text) => migrationEvent(ctx, row, 'system', text));
  try {
    if (row.state !== 'created') {
      await copyFile(ctx, row, from, to, { file: 'disk' }, 'disk', (info) => ({
        route: 'importDisk',
        params: { id: row.id },
        query: { sizeBytes: info.sizeBytes, hasAgent: info.hasAgent ? 'true' : 'false', sha256: info.sha256 },
      }));
    }
    for (const v of volumes) {
      await copyFile(ctx, row, from, to, { file: 'volume', volume: v.id }, `volume ${v.name}`, (info) => ({
        route: 'importVolume',
        params: { id: v.id },
        query: { sizeBytes: info.sizeBytes, sha256: info.sha256 },
      }));
    }
  } catch (e) {
    // Whatever reached the destination goes (an import removes its own partial file).
    await removeCopy(ctx, to, row.id, `a cold move from ${from.name} failed`);
    throw e;
  }
  return none;
}

type ImportCall =
  | {
      route: 'importDisk';
      params: { id: string };
      query: { sizeBytes: number; hasAgent: 'true' | 'false'; sha256: string };
    }
  | { route: 'importVolume'; params: { id: string }; query: { sizeBytes: number; sha256: string } };

/** One file from the source agent's export into the destination's import, streamed through. */
async function copyFile(
  ctx: VmContext,
  row: VmRow,
  from: HostRow,
  to: HostRow,
  src: { file: 'disk' } | { file: 'volume'; volume: string },
  what: string,
  importCall: (info: AgentExportInfo) => ImportCall,
): Promise<void> {
  const info = await ctx.agents.call(from, 'exportInfo', { params: { id: row.id }, query: src });
  await migrationEvent(
    ctx,
    row,
    'system',
    `copying ${what}: ${(info.encodedBytes / 2 ** 20).toFixed(1)} MiB of ${(info.sizeBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  const res = await ctx.agents.raw(
    from,
    'exportFile',
    { params: { id: row.id }, query: { ...src, sha256: info.sha256, encodedBytes: info.encodedBytes } },
    { stream: true },
  );
  const call = importCall(info);
  const put = await ctx.agents.raw(to, call.route, { params: call.params, query: call.query } as never, {
    body: fromWeb(res.body!) as never,
    headers: { 'content-type': 'application/octet-stream' },
    stream: true,
  });
  await put.text();
}
