import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { capturingLog } from '../helpers/capturing-log.ts';
import { startPlatform, testVmm, type Platform } from '../helpers/platform.ts';
import { refusedUpgrade } from '../helpers/ws.ts';

/**
 * Calls the agent's API (TLS with a certificate from the manager's CA, which this test does not
 * hold: on loopback it need not verify it). Resolves with the status.
 */
function callAgent(url: string, opts: { method?: string; headers: Record<string, string>; body?: string }) {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, rejectUnauthorized: false },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(opts.body);
  });
}

/** Opens a WebSocket and closes it again; resolves with the upgrade's status (101 when opened). */
function useWebSocket(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      ws.once('close', () => resolve(101));
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', (e) => (ws.readyState === ws.CONNECTING ? reject(e) : undefined));
  });
}

// A session of API calls, console and shell WebSockets and the event stream, with tokens and
// tickets in headers and query strings, successful and refused: neither the manager's log nor
// the agent's carries any of them afterwards. No VM boots (its WebSockets are refused after the
// ticket was redeemed); the agent registers with the join token and is called with its own.
const manager = capturingLog();
const agent = capturingLog();
let p: Platform;

beforeAll(async () => {
  p = await startPlatform({ log: manager.log, agentLog: agent.log });
}, 300_000);
afterAll(async () => {
  await p?.dispose();
});

it('no token, ticket or credential appears in any manager or agent log line', async () => {
  const base = p.manager.url;
  const wsBase = base.replace(/^http/, 'ws');
  const token = p.manager.adminToken;
  const bearer = { authorization: `Bearer ${token}` };
  const ticket = async () => {
    const r = await fetch(`${base}/v1/auth/tickets`, { method: 'POST', headers: bearer });
    expect(r.status).toBe(201);
    return ((await r.json()) as { ticket: string }).ticket;
  };

  // The event stream with a ticket in the query (as the dashboard opens it), read until the
  // VM's first event.
  const eventsTicket = await ticket();
  const events = await fetch(`${base}/v1/events?ticket=${eventsTicket}`);
  expect(events.status).toBe(200);
  const reader = events.body!.getReader();
  const created = await p.client.call('createVm', {
    body: { name: 'logscan', memoryMib: 128, vmm: testVmm(), start: false },
  });
  let seen = '';
  while (!seen.includes(created.id)) seen += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  const vm = created;

  // Console and shell WebSockets with tickets in the query (the VM is stopped: the console
  // opens on its history, the shell is refused, after the ticket was redeemed either way).
  const consoleTicket = await ticket();
  await useWebSocket(`${wsBase}/v1/vms/${vm.id}/console?ticket=${consoleTicket}`);
  const shellTicket = await ticket();
  await useWebSocket(`${wsBase}/v1/vms/${vm.id}/shell?ticket=${shellTicket}`);

  // Refused ones, which are logged with their URL: a used ticket, a token in the query, a bad one.
  expect(
    (await refusedUpgrade({ url: `${wsBase}/v1/vms/${vm.id}/console?ticket=${consoleTicket}`, headers: {} }))
      .status,
  ).toBe(401);
  await refusedUpgrade({ url: `${wsBase}/v1/vms/nope/console?token=${token}`, headers: {} });
  const wrong = `hth_wrong_${'x'.repeat(24)}`;
  expect((await fetch(`${base}/v1/events?token=${wrong}`)).status).toBe(401);
  expect((await fetch(`${base}/v1/events?token=${token}`)).status).toBe(401);
  expect((await fetch(`${base}/v1/events?ticket=${eventsTicket}`)).status).toBe(401);
  expect(
    (
      await fetch(`${base}/v1/vms?token=${token}`, {
        method: 'POST',
        headers: { ...bearer, 'x-api-key': token },
        body: '{}',
      })
    ).status,
  ).toBeGreaterThanOrEqual(400);

  // The requests that once left their credentials in the log: refused ones (4xx) with `?token=`,
  // `?ticket=` or `access_token` in the URL, among other parameters and in any letter case.
  const fake = (kind: string) => `hth_${kind}_${randomBytes(12).toString('hex')}`;
  const accessToken = fake('access');
  const badBearer = fake('bearer');
  const wrongTicket = `${eventsTicket.slice(0, 8)}${randomBytes(16).toString('hex')}`;
  const refused = async (url: string, init: RequestInit = {}) => {
    const r = await fetch(url, init);
    await r.arrayBuffer();
    expect(r.status, url).toBeGreaterThanOrEqual(400);
    expect(r.status, url).toBeLessThan(500);
  };
  await refused(`${base}/v1/vms/vm_nope?access_token=${accessToken}`, { headers: bearer });
  await refused(`${base}/v1/vms?limit=x&Access_Token=${accessToken}&token=${token}`, { headers: bearer });
  await refused(`${base}/v1/events?ticket=${wrongTicket}`);
  // Credential parameters a script may add by habit (api_key, password): redacted as well.
  await refused(`${base}/v1/vms/vm_nope?api_key=${accessToken}&password=${badBearer}`, { headers: bearer });
  await refused(`${base}/v1/events?x=1&TOKEN=${token}`);
  // A fresh ticket spent on a VM that does not exist, and a WebSocket route asked without an upgrade.
  const unknownTicket = await ticket();
  expect(
    (await refusedUpgrade({ url: `${wsBase}/v1/vms/vm_nope/shell?ticket=${unknownTicket}`, headers: {} }))
      .status,
  ).toBeGreaterThanOrEqual(400);
  await refused(`${base}/v1/vms/${vm.id}/console?token=${token}`);
  await refused(`${base}/v1/vms/${vm.id}/shell?ticket=${wrongTicket}`);
  await refusedUpgrade({ url: `${wsBase}/v1/vms/${vm.id}/console?ticket=${wrongTicket}`, headers: {} });
  await refusedUpgrade({
    url: `${wsBase}/v1/vms/${vm.id}/console?access_token=${accessToken}`,
    headers: { authorization: `Bearer ${badBearer}` },
  });
  // Credentials in headers on failing requests: a wrong bearer, a wrong API key, a basic login.
  await refused(`${base}/v1/vms`, { headers: { authorization: `Bearer ${badBearer}` } });
  await refused(`${base}/v1/vms/vm_nope`, { headers: { 'x-api-key': badBearer } });
  await refused(`${base}/v1/hosts`, {
    headers: { authorization: `Basic ${Buffer.from(`admin:${badBearer}`).toString('base64')}` },
  });

  // The agent's own API, called as the manager calls it and as a stranger would: refused, with
  // credentials in headers and query.
  const agentUrl = p.agent!.url;
  const callback = (
    JSON.parse(await readFile(join(p.dir, 'agent', 'agent.json'), 'utf8')) as {
      callbackToken: string;
    }
  ).callbackToken;
  const agentRefused = async (url: string, opts: Parameters<typeof callAgent>[1]) => {
    const status = await callAgent(url, opts);
    expect(status, url).toBeGreaterThanOrEqual(400);
    expect(status, url).toBeLessThan(500);
  };
  await agentRefused(`${agentUrl}/agent/v1/vms?token=${accessToken}`, {
    headers: { authorization: `Bearer ${badBearer}` },
  });
  await agentRefused(`${agentUrl}/agent/v1/vms/vm_nope/status?access_token=${accessToken}`, {
    headers: { authorization: `Bearer ${callback}` },
  });
  await agentRefused(`${agentUrl}/agent/v1/vms/vm_nope/start?ticket=${wrongTicket}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${callback}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: accessToken }),
  });

  await p.client.call('deleteVm', { params: { id: vm.id } });

  const identity = JSON.parse(await readFile(join(p.dir, 'agent', 'agent.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const secrets = [
    token,
    eventsTicket,
    consoleTicket,
    shellTicket,
    unknownTicket,
    wrong,
    wrongTicket,
    accessToken,
    badBearer,
    p.joinToken,
  ];
  // The agent's own credentials (its host credential and the token the manager calls it with).
  for (const [k, v] of Object.entries(identity))
    if (typeof v === 'string' && /token|credential|secret/i.test(k)) secrets.push(v);
  expect(secrets.length).toBeGreaterThan(10);
  const text = manager.lines.join('') + agent.lines.join('');
  // The lines are there (the check is not vacuous), without their secrets.
  expect(text).toContain('?ticket=[redacted]');
  expect(text).toContain('?token=[redacted]');
  expect(text).toMatch(/access_token=\[redacted\]/i);
  expect(text).toContain('TOKEN=[redacted]');
  expect(agent.lines.length).toBeGreaterThan(0);
  for (const s of secrets) expect(text, `a log line carries ${s.slice(0, 12)}…`).not.toContain(s);
}, 900_000);
