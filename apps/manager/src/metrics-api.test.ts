import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Host, HostMetricsHistory, Vm, VmMetricsHistory, VmSample } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { makeUser } from '../../../test/helpers/identity.ts';
import { familyOf, promtoolCheck, readScrape } from '../../../test/helpers/prom.ts';

const SCRAPE_TOKEN = 's'.repeat(40);
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** A host agent that boots nothing: a start is `running` at once; guest metrics answer. */
function fakeAgent(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = /^\/agent\/v1\/vms\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '';
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && req.url?.endsWith('/start')) {
        const at = new Date().toISOString();
        return send(200, {
          id,
          phase: 'running',
          reason: null,
          pid: 1,
          accel: 'tcg',
          startedAt: at,
          bootMs: 1,
        });
      }
      if (req.method === 'GET' && req.url?.endsWith('/metrics')) {
        return send(200, {
          cpuPercent: 1,
          memory: { totalBytes: 1, availableBytes: 1, usedBytes: 0 },
          load: [0, 0, 0],
          processes: 1,
          uptimeSec: 1,
          disk: { path: '/', totalBytes: 1, usedBytes: 0 },
          network: [],
          agentRssBytes: 1,
          at: new Date().toISOString(),
        });
      }
      if (req.method === 'POST' && req.url?.includes('/networks/')) return send(200, { ok: true });
      send(200, { ok: true });
    });
  });
}

describeOnBackends('metrics and history', (db) => {
  const clock = { t: T0 };
  const api = useApiPlatform({
    db,
    host: null,
    platform: { manager: { now: () => clock.t, scrape: { token: SCRAPE_TOKEN } } },
  });
  const agent = fakeAgent();
  let hostId = '';
  let agentToken = '';
  let vm: Vm;

  beforeAll(async () => {
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
    const reg = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
      payload: {
        name: 'metrics-host',
        url: `http://127.0.0.1:${(agent.address() as AddressInfo).port}`,
        callbackToken: 'x'.repeat(32),
        inventory: fakeInventory,
      },
    });
    expect(reg.statusCode, reg.body).toBe(200);
    const body = reg.json() as { host: { id: string }; agentToken: string };
    hostId = body.host.id;
    agentToken = body.agentToken;
    const r = await api.inject({ method: 'POST', url: '/v1/vms', payload: { name: 'metered' } });
    expect(r.statusCode, r.body).toBe(201);
    vm = r.json() as Vm;
    for (;;) {
      const got = (await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}` })).json() as Vm;
      if (got.state === 'running') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    // A guest round trip through the host agent.
    expect((await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}/metrics` })).statusCode).toBe(200);
    await api.inject({ method: 'POST', url: '/v1/vms', payload: { name: 'idle', start: false } });
  });
  afterAll(async () => {
    await new Promise((r) => agent.close(r));
  });

  const scrape = (headers: Record<string, string>) =>
    api.p.manager.app.inject({ method: 'GET', url: '/metrics', headers });

  it('refuses a scrape without credentials, and from a user who is not a platform admin', async () => {
    expect((await scrape({})).statusCode).toBe(401);
    const viewer = await makeUser(api.p.manager.stores, { roles: { default: 'owner' } });
    expect((await scrape(viewer.headers())).statusCode).toBe(403);
    expect((await scrape({ authorization: `Bearer ${'t'.repeat(40)}` })).statusCode).toBe(401);
  });

  it('serves exposition text that promtool accepts, with the families and labels documented', async () => {
    const byToken = await scrape({ authorization: `Bearer ${SCRAPE_TOKEN}` });
    expect(byToken.statusCode).toBe(200);
    const r = await scrape(api.admin());
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const check = promtoolCheck(r.body);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);

    const { types, samples } = readScrape(r.body);
    const find = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(find('hearth_vms', { state: 'running' })[0]?.value).toBe(1);
    expect(find('hearth_vms', { state: 'created' })[0]?.value).toBe(1);
    expect(find('hearth_vm_info', { vm: vm.id, name: 'metered', host: 'metrics-host' })).toHaveLength(1);
    expect(find('hearth_host_cpus', { host: 'metrics-host' })[0]?.value).toBe(2);
    expect(find('hearth_host_memory_bytes', { host: 'metrics-host' })[0]?.value).toBe(4096 * 2 ** 20);
    expect(find('hearth_host_allocated_vcpus', { host: 'metrics-host' })[0]?.value).toBe(vm.vcpus);
    expect(find('hearth_host_up', { host: 'metrics-host' })[0]?.value).toBe(1);
    expect(
      find('hearth_vm_start_duration_seconds_count', { source: 'cold' })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    expect(
      find('hearth_guest_request_duration_seconds_count', { call: 'metrics', outcome: 'ok' }),
    ).toHaveLength(1);
    expect(find('hearth_agent_call_duration_seconds_count', { call: 'startVm', outcome: 'ok' })).toHaveLength(
      1,
    );
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    // Route templates, never raw URLs: the VM's id appears in no request label.
    const routes = find('hearth_http_requests_total').map((s) => s.labels.route);
    expect(routes).toContain('/v1/vms/:id');
    expect(routes.some((x) => x?.includes(vm.id))).toBe(false);
    expect(
      find('hearth_http_request_duration_seconds_bucket', { route: '/v1/vms', method: 'POST' }).length,
    ).toBeGreaterThan(0);
    for (const s of samples) expect(familyOf(s.name, types), s.name).not.toBeNull();
  });

  it(
    'keeps 24 h of samples as the last hour at 10 s and one-minute averages before it',
    { timeout: 400_000 },
    async () => {
      const beat = (samples: VmSample[]) =>
        api.p.manager.app.inject({
          method: 'POST',
          url: `/v1/hosts/${hostId}/heartbeat`,
          headers: { authorization: `Bearer ${agentToken}` },
          payload: { inventory: { ...fakeInventory, cpuPercent: 37.5 }, vms: [], samples },
        });
      const sample = (cpu: number): VmSample => ({
        id: vm.id,
        at: new Date(clock.t).toISOString(),
        cpuPercent: cpu,
        memUsedBytes: 100 * 2 ** 20,
        memTotalBytes: 512 * 2 ** 20,
        diskUsedBytes: 2 ** 30,
        diskTotalBytes: 2 ** 31,
        rxBytesPerSec: clock.t % 20_000 === 0 ? 1000 : null,
        txBytesPerSec: 10,
      });
      // 25 hours of samples, written through the history itself for the first 24 h and through
      // heartbeats every 5 s (the agents' pace) for the last: the route's own path, its 10 s
      // spacing and compaction run on the same clock. A sample's CPU is its minute of the day.
      const h = api.p.manager.history;
      const start = T0 + 60_000;
      const routeFrom = start + 24 * 3600_000;
      // (Every 20 s there: the minutes averaged are as good, in half the inserts.)
      for (clock.t = start; clock.t < routeFrom; clock.t += 20_000) {
        await h.recordVms([sample(Math.floor((clock.t - T0) / 60_000) % 1440)]);
      }
      for (; clock.t <= routeFrom + 3600_000; clock.t += 5000) {
        const r = await beat([sample(Math.floor((clock.t - T0) / 60_000) % 1440)]);
        expect(r.statusCode, r.body).toBe(200);
      }
      const now = clock.t - 5000;

      const hour = (
        await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}/metrics/history?range=1h` })
      ).json() as VmMetricsHistory;
      expect(hour.stepSeconds).toBe(10);
      expect(hour.points.length).toBeGreaterThanOrEqual(359);
      expect(hour.points.length).toBeLessThanOrEqual(361);
      const gaps = hour.points.slice(1).map((p, i) => Date.parse(p.at) - Date.parse(hour.points[i]!.at));
      expect(new Set(gaps)).toEqual(new Set([10_000]));
      expect(Date.parse(hour.points.at(-1)!.at)).toBe(now);
      expect(hour.points[0]).toMatchObject({ memUsedBytes: 100 * 2 ** 20, txBytesPerSec: 10 });

      const day = (
        await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}/metrics/history?range=24h` })
      ).json() as VmMetricsHistory;
      expect(day.stepSeconds).toBe(60);
      // A day of minutes (the minute in progress is not averaged yet), nothing older kept.
      expect(day.points.length).toBeGreaterThanOrEqual(1438);
      expect(day.points.length).toBeLessThanOrEqual(1441);
      expect(Date.parse(day.points[0]!.at)).toBeGreaterThanOrEqual(now - 24 * 3600_000);
      // Each minute is the average of its 10 s samples, whose CPU was that minute's number.
      for (const p of day.points) {
        expect(p.cpuPercent).toBe(((Date.parse(p.at) - T0) / 60_000) % 1440);
        expect(p.rxBytesPerSec).toBe(1000);
      }
      const six = (
        await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}/metrics/history?range=6h` })
      ).json() as VmMetricsHistory;
      expect(six.points.length).toBeGreaterThanOrEqual(358);
      expect(six.points.length).toBeLessThanOrEqual(361);

      // Bounded: an hour of raw rows and a day of minutes for the VM and the host, no more.
      const rows = await h.rowCounts();
      expect(rows.raw).toBeLessThanOrEqual(2 * 370);
      expect(rows.minute).toBeLessThanOrEqual(1442 + 62);

      const host = (
        await api.inject({ method: 'GET', url: `/v1/hosts/${hostId}/metrics/history?range=1h` })
      ).json() as HostMetricsHistory;
      expect(host.points.length).toBeGreaterThanOrEqual(359);
      // What the host record says now (float4 values: seven significant digits).
      const rec = (await api.inject({ method: 'GET', url: `/v1/hosts/${hostId}` })).json() as Host;
      const last = host.points.at(-1)!;
      expect(last.memTotalBytes / (4096 * 2 ** 20)).toBeCloseTo(1, 6);
      expect(last.memUsedBytes / (2048 * 2 ** 20)).toBeCloseTo(1, 6);
      expect(last).toMatchObject({ vmCount: rec.vmCount, allocatedVcpus: rec.allocatedVcpus });
      // The agent's measured CPU use is kept with the host's samples and exported as a gauge.
      expect(last.cpuPercent).toBe(37.5);
      const scrape = await api.inject({ method: 'GET', url: '/metrics' });
      expect(scrape.body).toMatch(/^hearth_host_cpu_busy_percent\{host="[^"]+"\} 37\.5$/m);
      const bad = await api.inject({ method: 'GET', url: `/v1/vms/${vm.id}/metrics/history?range=2d` });
      expect(bad.statusCode).toBe(400);
    },
  );

  it('lets a project viewer read a VM history, and no one outside it', async () => {
    const viewer = await makeUser(api.p.manager.stores, { roles: { default: 'viewer' } });
    const url = `/v1/vms/${vm.id}/metrics/history?range=1h`;
    const inProject = await api.p.manager.app.inject({ method: 'GET', url, headers: viewer.headers() });
    expect(inProject.statusCode).toBe(200);
    const outsider = await makeUser(api.p.manager.stores, { roles: { elsewhere: 'owner' } });
    const r = await api.p.manager.app.inject({ method: 'GET', url, headers: outsider.headers('default') });
    // As for every project route: a project the caller is not in is not found (not told apart).
    expect(r.statusCode).toBe(404);
  });
});
