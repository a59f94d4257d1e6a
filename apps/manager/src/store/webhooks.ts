import { newId, type Webhook, type WebhookDelivery, type WebhookEventType } from '@hearth/contract';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { webhookDeliveries, webhooks } from '../db/schema.ts';

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

/** Deliveries kept per webhook: the log is bounded, the oldest go first. */
export const DELIVERY_LOG_SIZE = 100;

export function webhookFromRow(r: WebhookRow): Webhook {
  return {
    id: r.id,
    project: r.project,
    url: r.url,
    events: r.events,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export function deliveryFromRow(r: DeliveryRow): WebhookDelivery {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: r.id,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    event: r.event,
    status: r.status,
    attempts: r.attempts,
    responseCode: r.response_code,
    lastError: r.last_error,
    nextAttemptAt: iso(r.next_attempt_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/** Webhooks and their deliveries (the outbox of the delivery loop and the log the API shows). */
export class WebhookStore {
  constructor(private readonly db: Db) {}

  async create(w: Omit<WebhookRow, 'id' | 'created_at'>): Promise<WebhookRow> {
    const [row] = await this.db.orm
      .insert(webhooks)
      .values({ id: newId('whk'), ...w })
      .returning();
    return row!;
  }

  async get(id: string, project: string): Promise<WebhookRow | null> {
    const [row] = await this.db.orm
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.id, id), eq(webhooks.project, project)));
    return row ?? null;
  }

  list(project: string): Promise<WebhookRow[]> {
    return this.db.orm
      .select()
      .from(webhooks)
      .where(eq(webhooks.project, project))
      .orderBy(webhooks.created_at);
  }

  /** The webhooks subscribed to `event` in `project`; every project's when `project` is null. */
  subscribed(event: WebhookEventType, project: string | null): Promise<WebhookRow[]> {
    const wants = sql`${webhooks.events} @> ${JSON.stringify([event])}::jsonb`;
    return this.db.orm
      .select()
      .from(webhooks)
      .where(project === null ? wants : and(wants, eq(webhooks.project, project)));
  }

  async delete(id: string): Promise<void> {
    await this.db.orm.delete(webhooks).where(eq(webhooks.id, id));
  }

  /** Queues one delivery per webhook, due at `due`, and trims each webhook's log to its bound. */
  async enqueue(
    rows: { webhookId: string; eventId: string; event: WebhookEventType; payload: Record<string, unknown> }[],
    due: Date,
  ): Promise<DeliveryRow[]> {
    if (!rows.length) return [];
    const out = await this.db.orm
      .insert(webhookDeliveries)
      .values(
        rows.map((r) => ({
          id: newId('dlv'),
          webhook_id: r.webhookId,
          event_id: r.eventId,
          event: r.event,
          payload: r.payload,
          status: 'pending' as const,
          next_attempt_at: due,
        })),
      )
      .returning();
    for (const id of new Set(rows.map((r) => r.webhookId))) {
      await this.db.query(
        `DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND seq <= (
           SELECT seq FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
        [id, DELIVERY_LOG_SIZE],
      );
    }
    return out;
  }

  /**
   * Takes up to `limit` pending deliveries due by `now` and pushes their next attempt `leaseMs`
   * later, so another manager (or a later pass) leaves them alone while this one tries them; a
   * manager that dies mid-attempt leaves them to be retried once the lease passes.
   */
  async claimDue(now: Date, leaseMs: number, limit = 20): Promise<(DeliveryRow & { webhook: WebhookRow })[]> {
    const claimed = await this.db.query<{ id: string }>(
      `UPDATE webhook_deliveries SET next_attempt_at = $2
       WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
                    ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [now.toISOString(), new Date(now.getTime() + leaseMs).toISOString(), limit],
    );
    if (!claimed.length) return [];
    const rows = await this.db.orm
      .select()
      .from(webhookDeliveries)
      .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhook_id))
      .where(
        inArray(
          webhookDeliveries.id,
          claimed.map((c) => c.id),
        ),
      );
    return rows.map((r) => ({ ...r.webhook_deliveries, webhook: r.webhooks }));
  }

  /** Records an attempt's outcome: `next` null ends the delivery (succeeded or given up). */
  async attempted(
    id: string,
    o: {
      status: DeliveryRow['status'];
      responseCode: number | null;
      error: string | null;
      next: Date | null;
      now: Date;
    },
  ): Promise<void> {
    await this.db.orm
      .update(webhookDeliveries)
      .set({
        status: o.status,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        response_code: o.responseCode,
        last_error: o.error,
        next_attempt_at: o.next,
        updated_at: o.now,
      })
      .where(eq(webhookDeliveries.id, id));
  }

  deliveries(webhookId: string): Promise<DeliveryRow[]> {
    return this.db.orm
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.webhook_id, webhookId))
      .orderBy(desc(webhookDeliveries.seq))
      .limit(DELIVERY_LOG_SIZE);
  }
}
