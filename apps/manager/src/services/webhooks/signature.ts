import { createHmac } from 'node:crypto';

/**
 * The `Hearth-Signature` header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `<t>.<body>` with the webhook's secret. The time is inside what is signed, so a receiver that
 * refuses old timestamps (docs/webhooks.md: 5 minutes) cannot be fed a recorded delivery again.
 */
export function signDelivery(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
