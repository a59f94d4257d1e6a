import type { Logger } from 'pino';
import type { AgentVmStatus } from '@hearth/contract';
import { ManagerCallError } from './manager-client.ts';

/**
 * VM status changes on their way to the manager. A report that fails for want of the manager is
 * kept and sent again at the next flush (the agent flushes after each heartbeat): the heartbeat
 * carries states, but not the app's event messages ("restarted, exit code 1, attempt 3"). A batch
 * the manager refuses (4xx) is dropped, since it would be refused again. Bounded: the oldest go.
 */
export class ReportQueue {
  private readonly pending: AgentVmStatus[] = [];
  /** One send at a time, so that a failed batch goes back ahead of what came after it. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    /** Sends a batch; null while the agent has no host id yet (kept until it has). */
    private readonly send: (batch: AgentVmStatus[]) => Promise<unknown> | null,
    private readonly log: Logger,
    private readonly max = 1000,
  ) {}

  push(s: AgentVmStatus): void {
    this.pending.push(s);
    if (this.pending.length > this.max) this.pending.splice(0, this.pending.length - this.max);
    void this.flush();
  }

  get size(): number {
    return this.pending.length;
  }

  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.sendPending());
    return this.chain;
  }

  private async sendPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0);
    const sent = this.send(batch);
    if (!sent) {
      this.pending.unshift(...batch);
      return;
    }
    await sent.catch((e: Error) => {
      const refused = e instanceof ManagerCallError && e.status >= 400 && e.status < 500;
      if (!refused) {
        this.pending.unshift(...batch);
        if (this.pending.length > this.max) this.pending.splice(0, this.pending.length - this.max);
      }
      this.log.warn(
        { err: e.message, vms: batch.length },
        refused
          ? 'the manager refused a VM status report'
          : 'reporting VM status failed; sent again after the next heartbeat',
      );
    });
  }
}
