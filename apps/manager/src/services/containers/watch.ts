import type { Container, Vm } from '@hearth/contract';
import type { ContainerRow } from '../../store/containers.ts';
import { CONTAINER_LABEL } from './guest-app.ts';
import type { ContainerContext } from './context.ts';
import { startVm } from './create.ts';
import { containerFromRow } from './mapper.ts';
import { guestRestartCodes, restartMessages } from './restart-events.ts';

/** Back-off of platform restarts of one container: doubles from 1 s, at most 5 min. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 300_000;

/**
 * Follows containers' VMs: records each change of state, health and restart count as a container
 * event (once: the last recorded one is kept in `seen`), and starts again the `always` and
 * `unless-stopped` containers whose VM stopped without anyone asking (host restart, crash).
 * Driven by VM changes, with a periodic sweep for app reports that arrive without one.
 */
export class ContainerWatch {
  private readonly queue = new Map<string, Promise<void>>();
  private readonly backoff = new Map<string, { next: number; delay: number }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly onVm = (vm: Vm) => {
    const id = vm.labels[CONTAINER_LABEL];
    if (id) this.check(id);
  };

  constructor(
    private readonly ctx: ContainerContext,
    private readonly sweepMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.ctx.bus.on('vm', this.onVm);
    this.timer = setInterval(() => void this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  dispose(): void {
    this.ctx.bus.off('vm', this.onVm);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sweep(): Promise<void> {
    const rows = await this.ctx.stores.containers.withVm().catch(() => []);
    for (const r of rows) this.check(r.id);
    await Promise.all([...this.queue.values()]);
  }

  /** Looks at one container again (serialized per container). */
  check(id: string): void {
    const prev = this.queue.get(id) ?? Promise.resolve();
    const next = prev
      .then(() => this.look(id))
      .catch((e: unknown) => this.ctx.log.warn({ err: e, container: id }, 'container check failed'))
      .finally(() => {
        if (this.queue.get(id) === next) this.queue.delete(id);
      });
    this.queue.set(id, next);
  }

  private async look(id: string): Promise<void> {
    const row = await this.ctx.stores.containers.getUnscoped(id);
    if (!row || row.phase !== 'vm') return;
    const c = containerFromRow(row);
    await this.record(row, c);
    await this.restartIfDue(row);
  }

  private async record(row: ContainerRow, c: Container): Promise<void> {
    const seen = row.seen ?? { state: 'creating', health: null, restarts: 0 };
    const now = { state: c.state, health: c.health, restarts: c.restarts };
    if (seen.state === now.state && seen.health === now.health && seen.restarts === now.restarts) return;
    const add = (type: string, msg: string) => this.ctx.stores.containers.addEvent(row.id, type, msg);
    if (now.restarts > seen.restarts) {
      // The exit codes come from the guest's own restart events: the container's exit code
      // is only shown once it has exited, and one report may carry several restarts.
      const guest = row.vm_id ? await this.ctx.stores.vms.recentReasons(row.vm_id, 'app', 200) : [];
      const codes = guestRestartCodes(guest);
      for (const msg of restartMessages(seen.restarts, now.restarts, row.restarts, codes))
        await add('restarted', msg);
    }
    if (seen.state !== now.state) {
      if (now.state === 'running') await add('started', 'running');
      else if (now.state === 'exited')
        await add(
          'exited',
          `exited${c.exitCode !== null ? ` with code ${c.exitCode}` : ''}${c.stateReason ? `: ${c.stateReason}` : ''}`,
        );
      else if (now.state === 'failed') await add('failed', c.stateReason ?? 'failed');
      else await add('state', now.state);
    }
    if (seen.health !== now.health && now.health !== null) await add('health', now.health);
    await this.ctx.stores.containers.patch(row.id, { seen: now });
    this.ctx.changed.emit('container', row.id);
  }

  private async restartIfDue(row: ContainerRow): Promise<void> {
    const policy = row.spec.restart;
    if (policy !== 'always' && policy !== 'unless-stopped') return;
    if (row.user_stopped || row.vm_state !== 'stopped' || row.vm_desired !== 'running') {
      if (row.vm_state === 'running') this.backoff.delete(row.id);
      return;
    }
    const b = this.backoff.get(row.id) ?? { next: 0, delay: FIRST_BACKOFF_MS };
    if (Date.now() < b.next) return;
    this.backoff.set(row.id, { next: Date.now() + b.delay, delay: Math.min(MAX_BACKOFF_MS, b.delay * 2) });
    await this.ctx.stores.containers.addEvent(
      row.id,
      'restarted',
      `its VM stopped unasked; starting it again (${policy})`,
    );
    await startVm(this.ctx, row, 'restart-policy');
  }
}
