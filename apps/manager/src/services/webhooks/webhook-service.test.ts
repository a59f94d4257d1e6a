import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../../db/index.ts';
import { sealerFromKey } from '../../crypto/sealed.ts';
import { DELIVERY_LOG_SIZE } from '../../store/webhooks.ts';
import { WebhookService } from './webhook-service.ts';

/** A receiver on loopback: answers each request with the next status of `plan` (then 200). */
function receiver() {
  const got: { headers: IncomingHttpHeaders; body: string }[] = [];
  let plan: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = plan.shift() ?? 200;
      res.end('ok');
    });
  });
  return {
    got,
    plan: (codes: number[]) => (plan = codes),
    url: () => `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    listen: () => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Checked with node:crypto alone, as a receiver would: `t=<s>,v1=<hex>` over `<t>.<body>`. */
function signatureOk(secret: string, header: string, body: string): { ok: boolean; t: number } {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return { ok: false, t: NaN };
  const want = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest('hex');
  return { ok: want === m[2], t: Number(m[1]) };
}

describe('webhook delivery', () => {
  let db: Db;
  let clock = Date.UTC(2026, 11, 5, 12, 0, 0);
  const rx = receiver();
  const base = 10_000;
  let hooks: WebhookService;

  beforeAll(async () => {
    db = await openDb({ pgliteDir: null });
    await rx.listen();
    hooks = new WebhookService(db, sealerFromKey(randomBytes(32)), pino({ level: 'silent' }), {
      now: () => clock,
      baseDelayMs: base,
      maxAttempts: 4,
      pollMs: 0,
      timeoutMs: 5000,
    });
  });
  afterAll(async () => {
    await hooks?.dispose();
    await rx.close();
    await db?.close();
  });

  it('retries a receiver that fails twice with exponential back-off, signing each attempt', async () => {
    const secret = 'a-secret-of-at-least-16-chars';
    const w = await hooks.create('p1', { url: rx.url(), events: ['vm.state'], secret }, 'alice');
    expect(w.secret).toBe(secret);
    rx.plan([500, 503]);
    await hooks.emit('vm.state', 'p1', { vm: { id: 'vm_1', state: 'running' }, from: 'starting' });
    await hooks.runDue();
    expect(rx.got).toHaveLength(1);
    let [d] = (await hooks.deliveries(w.id, 'p1')).items;
    expect(d).toMatchObject({ status: 'pending', attempts: 1, responseCode: 500 });
    expect(d!.lastError).toContain('HTTP 500');
    expect(d!.nextAttemptAt).toBe(new Date(clock + base).toISOString());

    // Not due yet: nothing is sent.
    clock += base - 1;
    await hooks.runDue();
    expect(rx.got).toHaveLength(1);
    clock += 1;
    await hooks.runDue();
    expect(rx.got).toHaveLength(2);
    [d] = (await hooks.deliveries(w.id, 'p1')).items;
    expect(d).toMatchObject({ status: 'pending', attempts: 2, responseCode: 503 });
    // The second retry waits twice as long.
    expect(d!.nextAttemptAt).toBe(new Date(clock + 2 * base).toISOString());
    clock += 2 * base;
    await hooks.runDue();
    expect(rx.got).toHaveLength(3);
    [d] = (await hooks.deliveries(w.id, 'p1')).items;
    expect(d).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      responseCode: 200,
      lastError: null,
      nextAttemptAt: null,
    });

    // Every attempt: the same event, signed over its body with the time of the attempt.
    const bodies = rx.got.map((g) => JSON.parse(g.body) as { id: string; type: string; project: string });
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(bodies[0]).toMatchObject({ type: 'vm.state', project: 'p1', id: d!.eventId });
    for (const g of rx.got) {
      expect(g.headers['hearth-event']).toBe('vm.state');
      expect(g.headers['hearth-delivery']).toBe(d!.eventId);
      const sig = signatureOk(secret, String(g.headers['hearth-signature']), g.body);
      expect(sig.ok).toBe(true);
    }
    expect(signatureOk(secret, String(rx.got[2]!.headers['hearth-signature']), rx.got[2]!.body).t).toBe(
      Math.floor(clock / 1000),
    );
    // A wrong secret or a changed body does not verify.
    const last = rx.got[2]!;
    expect(
      signatureOk('another-secret-16chars', String(last.headers['hearth-signature']), last.body).ok,
    ).toBe(false);
    expect(signatureOk(secret, String(last.headers['hearth-signature']), last.body + ' ').ok).toBe(false);
  });

  it('gives up after the last attempt', async () => {
    const w = await hooks.create('p2', { url: rx.url(), events: ['audit'] }, 'bob');
    expect(w.secret).toMatch(/^whsec_/);
    rx.plan([500, 500, 500, 500]);
    await hooks.emit('audit', 'p2', { record: {} });
    for (let i = 0; i < 4; i++) {
      await hooks.runDue();
      clock += 8 * base;
    }
    const [d] = (await hooks.deliveries(w.id, 'p2')).items;
    expect(d).toMatchObject({ status: 'failed', attempts: 4, responseCode: 500, nextAttemptAt: null });
  });

  it('delivers only the event types and the project subscribed; host events to every project', async () => {
    const a = await hooks.create('p3', { url: rx.url(), events: ['vm.failed', 'host.offline'] }, 'c');
    const b = await hooks.create('p4', { url: rx.url(), events: ['host.offline'] }, 'c');
    await hooks.emit('vm.state', 'p3', {});
    await hooks.emit('vm.failed', 'p4', {});
    await hooks.emit('vm.failed', 'p3', {});
    await hooks.emit('host.offline', null, { hostId: 'host_1' });
    await hooks.runDue();
    const events = async (id: string, project: string) =>
      (await hooks.deliveries(id, project)).items.map((d) => d.event).sort();
    expect(await events(a.id, 'p3')).toEqual(['host.offline', 'vm.failed']);
    expect(await events(b.id, 'p4')).toEqual(['host.offline']);
    // Another project's owner cannot see it.
    await expect(hooks.deliveries(a.id, 'p4')).rejects.toMatchObject({ code: 'WEBHOOK_NOT_FOUND' });
  });

  it('keeps the delivery log bounded, newest first', async () => {
    const w = await hooks.create('p5', { url: rx.url(), events: ['audit'] }, 'd');
    for (let i = 0; i < DELIVERY_LOG_SIZE + 5; i++) await hooks.emit('audit', 'p5', { i });
    await hooks.runDue();
    const { items } = await hooks.deliveries(w.id, 'p5');
    expect(items).toHaveLength(DELIVERY_LOG_SIZE);
    const rows = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1',
      [w.id],
    );
    expect(rows[0]!.n).toBe(DELIVERY_LOG_SIZE);
    // Deleting the webhook removes its log.
    await hooks.delete(w.id, 'p5');
    const left = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = $1',
      [w.id],
    );
    expect(left[0]!.n).toBe(0);
  });
});
