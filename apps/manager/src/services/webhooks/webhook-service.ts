import { randomBytes } from 'node:crypto';
import {
  HearthError,
  newId,
  type CreateWebhookBody,
  type WebhookEventType,
  type WebhookPayload,
} from '@hearth/contract';
import type { Logger } from 'pino';
import type { Db } from '../../db/index.ts';
import type { Sealer } from '../../crypto/sealed.ts';
import { deliveryFromRow, webhookFromRow, WebhookStore, type DeliveryRow } from '../../store/webhooks.ts';
import { signDelivery } from './signature.ts';

export interface WebhookOptions {
  /** The clock deliveries are scheduled by (tests move it); default Date.now. */
  now?: () => number;
  /** First retry delay; each next one doubles, up to `maxDelayMs`. Default 10 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts before a delivery is given up (`failed`). Default 8 (~21 min of retries). */
  maxAttempts?: number;
  /** How often the loop looks for due deliveries; 0: never by itself (tests call `runDue`). Default 1 s. */
  pollMs?: number;
  /** One attempt's limit (connect, answer). Default 10 s. */
  timeoutMs?: number;
}

/**
 * Webhooks: subscriptions, and delivery of events as signed POSTs. An event becomes one delivery
 * row per subscribed webhook (an outbox in the database, so a restart or another manager finishes
 * what this one queued); a loop posts the due ones, and a failure is retried with exponential
 * back-off until `maxAttempts`. Redirects are not followed: a delivery goes to the URL its owner
 * registered and nowhere else (docs/webhooks.md on what a URL may reach).
 */
export class WebhookService {
  readonly store: WebhookStore;
  private readonly now: () => number;
  private readonly o: Required<Omit<WebhookOptions, 'now'>>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private disposed = false;

  constructor(
    db: Db,
    private readonly sealer: Sealer,
    private readonly log: Logger,
    opts: WebhookOptions = {},
  ) {
    this.store = new WebhookStore(db);
    this.now = opts.now ?? Date.now;
    this.o = {
      baseDelayMs: opts.baseDelayMs ?? 10_000,
      maxDelayMs: opts.maxDelayMs ?? 3_600_000,
      maxAttempts: opts.maxAttempts ?? 8,
      pollMs: opts.pollMs ?? 1000,
      timeoutMs: opts.timeoutMs ?? 10_000,
    };
    if (this.o.pollMs > 0) {
      this.timer = setInterval(() => void this.runDue(), this.o.pollMs);
      this.timer.unref();
    }
  }

  async create(project: string, body: CreateWebhookBody, actor: string) {
    const secret = body.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
    const row = await this.store.create({
      project,
      url: body.url,
      events: [...new Set(body.events)],
      secret_sealed: this.sealer.seal(secret),
      created_by: actor,
    });
    return { ...webhookFromRow(row), secret };
  }

  async list(project: string) {
    return { items: (await this.store.list(project)).map(webhookFromRow), nextCursor: null };
  }

  async require(id: string, project: string) {
    const row = await this.store.get(id, project);
    if (!row) {
      throw new HearthError(
        'WEBHOOK_NOT_FOUND',
        `Finding webhook "${id}" failed: the project has none by that id.`,
      );
    }
    return row;
  }

  async delete(id: string, project: string) {
    const row = await this.require(id, project);
    await this.store.delete(row.id);
    return webhookFromRow(row);
  }

  async deliveries(id: string, project: string) {
    const row = await this.require(id, project);
    return { items: (await this.store.deliveries(row.id)).map(deliveryFromRow), nextCursor: null };
  }

  /** Queues a `webhook.test` delivery to this webhook alone and starts the loop at once. */
  async test(id: string, project: string, actor: string) {
    const row = await this.require(id, project);
    const [d] = await this.queue([row.id], 'webhook.test', project, { by: actor, webhookId: row.id });
    return deliveryFromRow(d!);
  }

  /**
   * An event happened: one delivery per webhook subscribed to it (in `project`; every project's
   * for platform events, `project` null). Never rejects: an event source must not fail for this.
   * Resolves once the deliveries are queued.
   */
  async emit(type: WebhookEventType, project: string | null, data: Record<string, unknown>): Promise<void> {
    if (this.disposed) return;
    try {
      const hooks = await this.store.subscribed(type, project);
      if (hooks.length)
        await this.queue(
          hooks.map((h) => h.id),
          type,
          project,
          data,
        );
    } catch (err) {
      this.log.error({ err, type }, 'queueing webhook deliveries failed');
    }
  }

  private async queue(
    webhookIds: string[],
    type: WebhookEventType,
    project: string | null,
    data: Record<string, unknown>,
  ): Promise<DeliveryRow[]> {
    const at = new Date(this.now());
    const payload: WebhookPayload = { id: newId('whe'), type, at: at.toISOString(), project, data };
    const rows = await this.store.enqueue(
      webhookIds.map((webhookId) => ({ webhookId, eventId: payload.id, event: type, payload })),
      at,
    );
    void this.runDue();
    return rows;
  }

  /** Posts every due delivery once; a call while a pass runs makes that pass go round again. */
  runDue(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        // The lease outlasts an attempt, so no other pass takes a delivery being tried.
        const due = await this.store
          .claimDue(new Date(this.now()), this.o.timeoutMs * 3)
          .catch((err: unknown) => {
            this.log.error({ err }, 'reading due webhook deliveries failed');
            return [];
          });
        await Promise.all(due.map((d) => this.attempt(d)));
        if (due.length) this.again = true;
      } while (this.again && !this.disposed);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async attempt(d: Awaited<ReturnType<WebhookStore['claimDue']>>[number]): Promise<void> {
    const body = JSON.stringify(d.payload);
    let code: number | null = null;
    let error: string | null = null;
    try {
      const secret = this.sealer.open(d.webhook.secret_sealed);
      const res = await fetch(d.webhook.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Hearth-Webhooks/1',
          'hearth-event': d.event,
          'hearth-delivery': d.event_id,
          'hearth-signature': signDelivery(secret, body, Math.floor(this.now() / 1000)),
        },
        body,
      });
      code = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `the receiver answered HTTP ${res.status}`;
    } catch (e) {
      error =
        (e as Error).cause instanceof Error
          ? `${(e as Error).message}: ${((e as Error).cause as Error).message}`
          : (e as Error).message;
    }
    const now = this.now();
    const attempts = d.attempts + 1;
    const done = error === null;
    const giveUp = !done && attempts >= this.o.maxAttempts;
    const delay = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempts - 1));
    await this.store
      .attempted(d.id, {
        status: done ? 'succeeded' : giveUp ? 'failed' : 'pending',
        responseCode: code,
        error,
        next: done || giveUp ? null : new Date(now + delay),
        now: new Date(now),
      })
      .catch((err: unknown) => this.log.error({ err, delivery: d.id }, 'recording a webhook attempt failed'));
    if (!done) {
      this.log.warn(
        { webhook: d.webhook_id, delivery: d.id, attempts, error, retryInMs: giveUp ? null : delay },
        giveUp ? 'webhook delivery given up' : 'webhook delivery failed; retrying',
      );
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearInterval(this.timer);
    await this.running;
  }
}
