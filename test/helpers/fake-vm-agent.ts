import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { AgentVmSpec } from '@hearth/contract';
import type { RunningManager } from '@hearth/manager';
import { fakeInventory } from './fake-host.ts';

/**
 * A host agent that boots nothing but answers every VM verb as a real one would when it goes
 * well: start → running, stop → stopped, pause/resume, delete; volumes are made and removed; an
 * exec answers with the request it got (stdout: its JSON), metrics and processes are canned. The
 * start specs it received are kept (the guest app a container's VM would run). A started VM with
 * a guest app then reports that app running, as a real guest agent does once it has started it.
 */
export function fakeVmAgent() {
  const starts: AgentVmSpec[] = [];
  const calls: string[] = [];
  let manager: { m: RunningManager; hostId: string; token: string } | null = null;
  const reportAppRunning = async (id: string) => {
    if (!manager) return;
    const now = new Date().toISOString();
    const app = {
      state: 'running',
      pid: 7,
      exitCode: null,
      signal: null,
      reason: null,
      restarts: 0,
      health: null,
      healthLog: [],
      startedAt: now,
      finishedAt: null,
    };
    const vm = {
      id,
      phase: 'running',
      reason: null,
      pid: 4242,
      accel: 'tcg',
      startedAt: now,
      bootMs: 1,
      app,
    };
    const res = await manager.m.app.inject({
      method: 'POST',
      url: `/v1/hosts/${manager.hostId}/vm-status`,
      headers: { authorization: `Bearer ${manager.token}` },
      payload: { vms: [vm] },
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const url = req.url ?? '';
      const id = /^\/agent\/v1\/(?:vms|volumes)\/([^/?]+)/.exec(url)?.[1] ?? '';
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const status = (phase: string) => ({
        id,
        phase,
        reason: null,
        pid: phase === 'stopped' ? null : 4242,
        accel: 'tcg',
        startedAt: new Date().toISOString(),
        bootMs: 1,
      });
      const verb = /\/vms\/[^/]+\/(\w+)(?:\?|$)/.exec(url)?.[1];
      calls.push(`${req.method} ${verb ?? ''} ${id}`);
      if (req.method === 'POST' && url.startsWith('/agent/v1/volumes/'))
        return send(200, { id, path: `/fake/${id}` });
      if (req.method === 'DELETE') return send(200, { ok: true });
      if (req.method === 'POST' && verb === 'start') {
        const spec = JSON.parse(data) as AgentVmSpec;
        starts.push(spec);
        send(200, status('running'));
        if (spec.guest?.app) res.on('finish', () => void reportAppRunning(id));
        return;
      }
      if (req.method === 'POST' && verb === 'stop') return send(200, status('stopped'));
      if (req.method === 'POST' && verb === 'pause') return send(200, status('paused'));
      if (req.method === 'POST' && verb === 'resume') return send(200, status('running'));
      if (req.method === 'POST' && verb === 'exec') {
        return send(200, {
          processId: 'p1',
          exitCode: 0,
          signal: null,
          timedOut: false,
          durationMs: 1,
          stdout: data,
          stderr: '',
          encoding: 'utf8',
        });
      }
      if (req.method === 'GET' && verb === 'metrics') {
        return send(200, {
          cpuPercent: 12.5,
          memory: { totalBytes: 256 * 2 ** 20, availableBytes: 200 * 2 ** 20, usedBytes: 56 * 2 ** 20 },
          load: [0, 0, 0],
          processes: 7,
          uptimeSec: 5,
          disk: { path: '/', totalBytes: 1, usedBytes: 1, readBytes: 4096, writeBytes: 8192 },
          network: [
            { name: 'lo', rxBytes: 1000, txBytes: 1000 },
            { name: 'eth0', rxBytes: 10, txBytes: 20 },
          ],
          agentRssBytes: 1,
          at: new Date().toISOString(),
        });
      }
      if (req.method === 'GET' && verb === 'processes') return send(200, { items: [] });
      if (req.method === 'POST' && url.includes('/networks/')) return send(200, { ok: true });
      if (req.method === 'POST' && /\/(ports|net-policy)$/.test(url)) return send(200, { ok: true });
      send(404, { error: { code: 'ROUTE_NOT_FOUND', message: `no such route ${url}`, hint: 'x' } });
    });
  });
  return {
    server,
    starts,
    calls,
    /** Listens on loopback and registers as host `name` with the manager. */
    async register(m: RunningManager, name: string): Promise<void> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const reg = await m.app.inject({
        method: 'POST',
        url: '/v1/hosts/register',
        headers: { authorization: `Bearer ${m.joinToken}` },
        payload: {
          name,
          url: `http://127.0.0.1:${port}`,
          callbackToken: 'x'.repeat(32),
          inventory: fakeInventory,
        },
      });
      expect(reg.statusCode, reg.body).toBe(200);
      const body = reg.json() as { host: { id: string }; agentToken: string };
      manager = { m, hostId: body.host.id, token: body.agentToken };
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
