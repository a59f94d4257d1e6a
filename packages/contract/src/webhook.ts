import { z } from 'zod';
import { IdParam, PageQuery, pageOf, Timestamp } from './common.ts';
import type { RouteDef } from './routes.ts';

/**
 * Webhooks: a project's subscriptions to events, delivered as signed HTTP POSTs with retries and a
 * delivery log (docs/webhooks.md).
 * - `vm.state`: a VM of the project moved from one state to another (`data`: the VM, `from`).
 * - `vm.failed`: a VM of the project failed (also a `vm.state`); `data.vm.stateReason` says why.
 * - `vm.deleted`: a VM of the project was deleted.
 * - `host.online` / `host.offline`: a host's agent came back / stopped heartbeating (hosts are
 *   platform-wide, seen by every signed-in user: every subscribed webhook gets them).
 * - `host.unreachable`: a host stayed silent past the grace period (its VMs are now `unknown`).
 * - `host.dead`: an operator declared a host dead (`data.restarted`, `data.lost`).
 * - `audit`: an audit record of the project was written (docs/identity.md).
 * - `webhook.test`: sent by `POST /v1/webhooks/{id}/test` only.
 */
export const WEBHOOK_EVENTS = [
  'vm.state',
  'vm.failed',
  'vm.deleted',
  'host.online',
  'host.offline',
  'host.unreachable',
  'host.dead',
  'audit',
  'webhook.test',
] as const;
export const WebhookEventType = z.enum(WEBHOOK_EVENTS);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

export const Webhook = z
  .object({
    id: z.string(),
    project: z.string(),
    url: z.string(),
    events: z.array(WebhookEventType),
    createdBy: z.string(),
    createdAt: Timestamp,
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

export const CreateWebhookBody = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .describe('Where deliveries are POSTed (http or https; redirects are not followed)'),
  events: z.array(WebhookEventType).min(1).describe('The event types delivered'),
  secret: z
    .string()
    .min(16)
    .max(256)
    .optional()
    .describe('The HMAC key; absent: one is generated (shown once, in the answer)'),
  project: z.string().optional(),
});
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const CreatedWebhook = Webhook.extend({
  secret: z.string().describe('The signing secret: shown this once, never again'),
}).meta({ id: 'CreatedWebhook' });

export const WebhookDelivery = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    eventId: z.string().describe('The event (the same in every attempt and in Hearth-Delivery)'),
    event: WebhookEventType,
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    responseCode: z.number().int().nullable().describe("The last attempt's HTTP status (null: none)"),
    lastError: z.string().nullable(),
    nextAttemptAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** The body of every delivery. */
export const WebhookPayload = z
  .object({
    id: z.string(),
    type: WebhookEventType,
    at: Timestamp,
    project: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'WebhookPayload' });
export type WebhookPayload = z.infer<typeof WebhookPayload>;

const ProjectQuery = z.strictObject({ project: z.string().optional() });
const def = <const T extends RouteDef>(r: T): T => r;
const base = { tag: 'webhooks', auth: 'user' } as const;
const NOT_FOUND = ['WEBHOOK_NOT_FOUND'] as const;

export const webhookRoutes = {
  createWebhook: def({
    ...base,
    method: 'POST',
    path: '/v1/webhooks',
    summary: "Subscribe a URL to a project's events. The answer carries the signing secret, shown this once.",
    body: CreateWebhookBody,
    response: CreatedWebhook,
    status: 201,
    errors: ['VALIDATION_FAILED'],
  }),
  listWebhooks: def({
    ...base,
    method: 'GET',
    path: '/v1/webhooks',
    summary: "List a project's webhooks (never their secrets).",
    query: PageQuery.extend({ project: z.string().optional() }),
    response: pageOf(Webhook),
    status: 200,
    errors: [],
  }),
  deleteWebhook: def({
    ...base,
    method: 'DELETE',
    path: '/v1/webhooks/:id',
    summary: 'Delete a webhook and its delivery log; deliveries pending stop.',
    params: IdParam,
    query: ProjectQuery,
    response: Webhook,
    status: 200,
    errors: [...NOT_FOUND],
  }),
  testWebhook: def({
    ...base,
    method: 'POST',
    path: '/v1/webhooks/:id/test',
    summary: 'Queue a `webhook.test` delivery to the webhook now; its outcome shows in the deliveries.',
    params: IdParam,
    query: ProjectQuery,
    response: WebhookDelivery,
    status: 202,
    errors: [...NOT_FOUND],
  }),
  webhookDeliveries: def({
    ...base,
    method: 'GET',
    path: '/v1/webhooks/:id/deliveries',
    summary: "A webhook's most recent deliveries, newest first (the log keeps the last 100).",
    params: IdParam,
    query: ProjectQuery,
    response: pageOf(WebhookDelivery),
    status: 200,
    errors: [...NOT_FOUND],
  }),
};
