import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPlatform, testVmm, type Platform } from '../helpers/platform.ts';
import { refusedUpgrade } from '../helpers/ws.ts';

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

/** Every line a logger writes, at debug level, to scan for credentials. */
function capturingLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: pino({ level: 'debug' }, sink) };
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

  await p.client.call('deleteVm', { params: { id: vm.id } });

  const identity = JSON.parse(await readFile(join(p.dir, 'agent', 'agent.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const secrets = [token, eventsTicket, consoleTicket, shellTicket, wrong, p.joinToken];
  // The agent's own credentials (its host credential and the token the manager calls it with).
  for (const [k, v] of Object.entries(identity))
    if (typeof v === 'string' && /token|credential|secret/i.test(k)) secrets.push(v);
  expect(secrets.length).toBeGreaterThan(5);
  const text = manager.lines.join('') + agent.lines.join('');
  // The lines are there (the check is not vacuous), without their secrets.
  expect(text).toContain('?ticket=[redacted]');
  expect(text).toContain('?token=[redacted]');
  expect(agent.lines.length).toBeGreaterThan(0);
  for (const s of secrets) expect(text, `a log line carries ${s.slice(0, 12)}…`).not.toContain(s);
}, 900_000);
