import { EventEmitter } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentPath } from '@hearth/contract';
import { buildAgentApp } from '../app.ts';
import type { Supervisor } from '../vm/index.ts';
import type { StoredLine } from './store.ts';

// A follow of an app that has printed nothing yet answers with its headers at once (each hop on
// the way, and the client, would otherwise wait for them and give up), then sends lines as the
// host stores them.
const live = new EventEmitter();
const sup = { appLogs: () => ({ files: [], live, hasApp: true }) } as unknown as Supervisor;
const app = buildAgentApp({ supervisor: sup, callbackToken: 't', log: pino({ level: 'silent' }) });
let port = 0;

beforeAll(async () => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  app.server.closeAllConnections();
  await app.close();
});

it('answers a follow with headers before the first line, then relays each stored line', async () => {
  const path = agentPath('appLogs', { params: { id: 'vm1' }, query: { follow: 'true' } });
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ port, path, headers: { authorization: 'Bearer t' } }, resolve);
    req.on('error', reject);
    req.end();
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain');
  const first = new Promise<string>((resolve) => res.once('data', (d: Buffer) => resolve(d.toString())));
  const line: StoredLine = { t: new Date().toISOString(), o: 'stdout', l: 'hello', b: 'b1', s: 1 };
  live.emit('vm1', [line]);
  expect(await first).toBe('hello\n');
  res.destroy();
});
