import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookDelivery, WebhookPayload } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli, CLI_ENV } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  payload: WebhookPayload;
}

/**
 * The manager's own event sources (a real VM's life, the audit trail) through the real CLI to a
 * receiver on 127.0.0.1, each delivery's signature checked with node:crypto.
 */
describe('webhooks: real events, the CLI and a receiver', () => {
  let p: Platform;
  let env: Record<string, string>;
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({
        path: req.url ?? '',
        headers: req.headers,
        body,
        payload: JSON.parse(body) as WebhookPayload,
      });
      res.end();
    });
  });
  const url = (path: string) => `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`;
  const on = (path: string) => got.filter((g) => g.path === path);
  const hearth = async (args: string[]) => {
    const r = await cli(['--json', ...args], env);
    if (r.code !== 0) throw new Error(`hearth ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as unknown;
  };

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    p = await startPlatform();
    env = { ...CLI_ENV, HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
  });
  afterAll(async () => {
    await p?.dispose();
    await new Promise((r) => server.close(r));
  });

  it('delivers what each webhook subscribed to, signed, and logs every delivery', async () => {
    const vmHook = (await hearth([
      'webhook',
      'create',
      url('/vms'),
      '--events',
      'vm.state,vm.failed,vm.deleted',
    ])) as { id: string; secret: string };
    const auditHook = (await hearth(['webhook', 'create', url('/audit'), '--events', 'audit'])) as {
      id: string;
      secret: string;
    };
    expect(vmHook.secret).toMatch(/^whsec_/);
    const listed = (await hearth(['webhook', 'ls'])) as { id: string; url: string }[];
    expect(listed.map((w) => w.id).sort()).toEqual([vmHook.id, auditHook.id].sort());
    // The secret is shown once: never listed.
    expect(JSON.stringify(listed)).not.toContain(vmHook.secret);

    const vm = await p.client.call('createVm', { body: { name: 'hooked' } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 180 } });
    await until(
      'vm.state to running delivered',
      () =>
        on('/vms').some(
          (g) =>
            g.payload.type === 'vm.state' && (g.payload.data.vm as { state: string }).state === 'running',
        ),
      60_000,
    );
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await until(
      'vm.deleted delivered',
      () => on('/vms').some((g) => g.payload.type === 'vm.deleted'),
      120_000,
    );
    await until('audit of the create delivered', () =>
      on('/audit').some((g) => (g.payload.data.record as { action: string }).action === 'createVm'),
    );

    // Filtering: each receiver got only its own event types, about this VM and project.
    expect(new Set(on('/vms').map((g) => g.payload.type))).toEqual(new Set(['vm.state', 'vm.deleted']));
    expect(new Set(on('/audit').map((g) => g.payload.type))).toEqual(new Set(['audit']));
    const states = on('/vms')
      .filter((g) => g.payload.type === 'vm.state')
      .map((g) => [g.payload.data.from, (g.payload.data.vm as { state: string }).state]);
    expect(states).toContainEqual(['starting', 'running']);
    for (const g of on('/vms')) expect(g.payload.project).toBe('default');

    // Every delivery verifies with its webhook's secret, independently of Hearth's code.
    for (const [path, secret] of [
      ['/vms', vmHook.secret],
      ['/audit', auditHook.secret],
    ] as const) {
      for (const g of on(path)) {
        const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(g.headers['hearth-signature']));
        expect(m, String(g.headers['hearth-signature'])).not.toBeNull();
        expect(createHmac('sha256', secret).update(`${m![1]}.${g.body}`).digest('hex')).toBe(m![2]);
        expect(Math.abs(Date.now() / 1000 - Number(m![1]))).toBeLessThan(600);
        expect(g.headers['hearth-event']).toBe(g.payload.type);
      }
    }

    // Test-fire, then the delivery log shows it succeeded with the receiver's status.
    await hearth(['webhook', 'test', vmHook.id]);
    await until('webhook.test delivered', () => on('/vms').some((g) => g.payload.type === 'webhook.test'));
    await until('the log says so', async () => {
      const log = (await hearth(['webhook', 'deliveries', vmHook.id])) as WebhookDelivery[];
      return log[0]?.event === 'webhook.test' && log[0].status === 'succeeded';
    });
    const log = (await hearth(['webhook', 'deliveries', vmHook.id])) as WebhookDelivery[];
    expect(log.length).toBe(on('/vms').length);
    for (const d of log) expect(d).toMatchObject({ status: 'succeeded', attempts: 1, responseCode: 200 });

    // Removed: gone from the list, and the audit trail recorded both the create and the delete.
    await hearth(['webhook', 'rm', auditHook.id]);
    const after = (await hearth(['webhook', 'ls'])) as { id: string }[];
    expect(after.map((w) => w.id)).toEqual([vmHook.id]);
    const audit = await p.client.call('listAudit', { query: { action: 'deleteWebhook', limit: 10 } });
    expect(audit.items.map((a) => a.target)).toContain(auditHook.id);
    const created = await p.client.call('listAudit', { query: { action: 'createWebhook', limit: 10 } });
    expect(created.items).toHaveLength(2);
  });
});
