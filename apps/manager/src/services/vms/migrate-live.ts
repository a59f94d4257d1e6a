import type { AgentMigrateProgress, AgentVmSpec } from '@hearth/contract';
import type { HostRow, VmRow } from '../../store/mappers.ts';
import type { MoveResult } from './migrate-cold.ts';
import type { VmContext } from './context.ts';
import { migrationEvent } from './migrate.ts';
import { removeCopy } from './move-leftovers.ts';

const PROGRESS_POLL_MS = 500;
/** Progress events at most every this many percent of a phase (the event stream stays readable). */
const STEP = 20;

const LABEL: Record<AgentMigrateProgress['phase'], string> = {
  idle: 'preparing',
  mirroring: 'mirroring disk',
  'copying-memory': 'copying memory',
  'switching-over': 'switching over',
};

/**
 * Polls the source's progress while `send` runs, writing an event when the phase changes or
 * advances by STEP percent.
 */
function followProgress(
  ctx: VmContext,
  row: VmRow,
  from: HostRow,
  actor: string,
): () => Promise<Set<string>> {
  let last = { phase: '', bucket: -1 };
  const seen = new Set<string>();
  let chain = Promise.resolve();
  const timer = setInterval(() => {
    chain = chain.then(async () => {
      const p = await ctx.agents.call(from, 'migrateProgress', { params: { id: row.id } }).catch(() => null);
      if (!p || p.phase === 'idle') return;
      const bucket = Math.floor(p.percent / STEP);
      if (p.phase === last.phase && bucket === last.bucket) return;
      last = { phase: p.phase, bucket };
      seen.add(p.phase);
      const pct = p.phase === 'switching-over' ? '' : ` ${p.percent}%`;
      await migrationEvent(ctx, row, actor, `${LABEL[p.phase]}${pct}`);
    });
  }, PROGRESS_POLL_MS);
  return async () => {
    clearInterval(timer);
    await chain;
    return seen;
  };
}

/**
 * A running QEMU VM moves live (docs/migration.md): the destination waits with an empty disk
 * behind an NBD server, the source mirrors its disk there and pre-copies memory, the guest
 * pausing only for the last pass; then the destination continues it. A failure before the
 * destination continued leaves the guest running on the source and removes the destination's.
 */
export async function moveLive(
  ctx: VmContext,
  row: VmRow,
  spec: AgentVmSpec,
  from: HostRow,
  to: HostRow,
  actor: string,
): Promise<MoveResult> {
  const id = row.id;
  const info = await ctx.agents.call(from, 'migrateInfo', { params: { id } });
  const ports = await ctx.agents
    .call(to, 'migrateIncoming', {
      params: { id },
      body: { spec, diskBytes: info.diskBytes, hasAgent: info.hasAgent },
    })
    .catch(async (e: Error) => {
      // The destination may have started its waiting QEMU before its answer was lost (its agent
      // died): removed, or fenced until that agent is back.
      await removeCopy(ctx, to, id, `a live move from ${from.name} failed`, 'abort-incoming');
      throw e;
    });
  const stop = followProgress(ctx, row, from, actor);
  let sent = false;
  try {
    // The source QEMU reaches the destination's QEMU where the manager reaches its agent.
    const host = new URL(to.url).hostname;
    const r = await ctx.agents.call(from, 'migrateSend', { params: { id }, body: { host, ...ports } });
    sent = true;
    await ctx.stores.moves.phase(id, 'handed-over');
    const seen = await stop();
    // A phase that ended between two polls still happened: said once, with how long it took.
    if (!seen.has('mirroring'))
      await migrationEvent(ctx, row, actor, `mirroring disk 100% (in ${r.mirrorMs ?? 0} ms)`);
    if (!seen.has('copying-memory'))
      await migrationEvent(ctx, row, actor, `copying memory 100% (in ${Math.round(r.ramTotalMs)} ms)`);
    await migrationEvent(ctx, row, actor, 'switching over');
    const st = await ctx.agents.call(to, 'migrateFinish', { params: { id } });
    // Source clock to destination clock: hosts are expected to keep NTP time.
    const downtime = st.resumedAt - (r.completedAt - r.downtimeMs);
    return {
      downtimeMs: Math.max(r.downtimeMs, Math.round(downtime)),
      qemuDowntimeMs: Math.round(r.downtimeMs),
      pid: st.pid,
    };
  } catch (e) {
    await stop();
    // An unreachable destination (its agent died) is fenced: its waiting copy goes when it is back.
    await removeCopy(ctx, to, id, `a live move from ${from.name} failed`, 'abort-incoming');
    // A source that handed everything over is paused: it continues (a failed send did so itself).
    if (sent)
      await ctx.agents
        .call(from, 'migrateCancel', { params: { id } })
        .catch((x: Error) =>
          ctx.log.error({ vm: id, host: from.name, err: x.message }, 'continuing the source failed'),
        );
    throw e;
  }
}
