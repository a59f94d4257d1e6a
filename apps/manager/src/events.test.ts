import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { readEvents } from '../../../test/helpers/sse.ts';

// The event stream and the dashboard's hosting, without booting anything (VMs are never started).
describe('event stream and UI hosting', () => {
  // A built dashboard to serve: an index page and one hashed asset.
  const uiDir = mkdtempSync(join(tmpdir(), 'hearth-ui-'));
  mkdirSync(join(uiDir, 'assets'));
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>Hearth UI</title>');
  writeFileSync(join(uiDir, 'assets', 'app-abc123.js'), 'console.log(1)');
  // A host that is never called: VMs here are created with start: false.
  const api = useApiPlatform({ platform: { uiDir } });
  const stream = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${api.p.manager.url}/v1/events?${query}`, { headers });

  afterAll(() => rmSync(uiDir, { recursive: true, force: true }));

  const ticket = async () =>
    new URL(await api.p.client.connectUrl('eventStream')).searchParams.get('ticket')!;

  it('streams VM changes to a client authenticated by ?ticket=, and resumes from Last-Event-ID', async () => {
    const res = await stream(`ticket=${await ticket()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen = readEvents(res, (s) => s.some((e) => e.type === 'vm' && e.vm.state === 'created'));
    const created = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/vms',
      headers: { authorization: `Bearer ${api.p.manager.adminToken}` },
      payload: { name: 'streamed', start: false },
    });
    expect(created.statusCode).toBe(201);
    const events = await seen;
    expect(events[0]!.type).toBe('hello');
    const change = events.find((e) => e.type === 'vm')!;
    expect(change.type === 'vm' && change.vm.name).toBe('streamed');
    expect(change.seq).toBeGreaterThan(events[0]!.seq);

    // A reconnect from the hello position replays the change it missed.
    const again = await stream('', {
      ...api.admin(),
      'last-event-id': String(events[0]!.seq),
    });
    const replay = await readEvents(again, (s) => s.length > 0);
    expect(replay[0]).toMatchObject({ type: 'vm', seq: change.seq });
  });

  it('says reset when it cannot replay, and refuses missing tokens with the error envelope', async () => {
    const res = await stream('since=5', api.admin());
    const [first] = await readEvents(res, (s) => s.length > 0);
    expect(first!.type).toBe('reset');
    const anon = await stream('');
    expect(anon.status).toBe(401);
    expect((await anon.json()).error.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token in the URL, and a ticket a second time', async () => {
    const byToken = await stream(`token=${api.p.manager.adminToken}`);
    expect(byToken.status).toBe(401);
    expect((await byToken.json()).error.code).toBe('UNAUTHENTICATED');
    const t = await ticket();
    const first = await stream(`ticket=${t}`);
    expect(first.status).toBe(200);
    await first.body!.cancel();
    const second = await stream(`ticket=${t}`);
    expect(second.status).toBe(401);
    expect((await second.json()).error.code).toBe('TICKET_INVALID');
  });

  it('serves the dashboard with a history fallback, and keeps JSON 404s for unknown API routes', async () => {
    const get = (url: string) => api.p.manager.app.inject({ method: 'GET', url });
    expect((await get('/')).body).toContain('Hearth UI');
    const deep = await get('/vms/vm_123/terminal');
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('Hearth UI');
    const asset = await get('/assets/app-abc123.js');
    expect(asset.headers['cache-control']).toContain('immutable');
    const missing = await get('/v1/nothing-here');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('ROUTE_NOT_FOUND');
  });
});
