import { EventEmitter } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Supervisor } from '../vm/index.ts';
import type { StoredLine } from './store.ts';
import { appLogRoutes } from './routes.ts';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** The agent's app log routes over a VM that has an app, no stored lines yet, and a live feed. */
async function serveQuietApp(): Promise<{ url: string; live: EventEmitter }> {
  const live = new EventEmitter();
  const sup = { appLogs: () => ({ files: [], live, hasApp: true }) } as unknown as Supervisor;
  app = Fastify({ forceCloseConnections: true });
  appLogRoutes(app, sup);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, live };
}

/** Resolves with the response as soon as its headers arrive (before any body). */
function headersOf(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
}

describe('app log follow of an app that prints nothing yet', () => {
  it('answers with its headers at once, then relays each line as it is stored', async () => {
    const { url, live } = await serveQuietApp();
    // Nothing is stored and nothing arrives until the headers are in: without them sent at once
    // this waits forever (a fetch gives up after its headers timeout).
    const res = await headersOf(`${url}/agent/v1/vms/vm_quiet/app/logs?follow=true&format=ndjson`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    res.setEncoding('utf8');
    const first = new Promise<string>((resolve) => res.once('data', resolve));
    const line: StoredLine = { t: '2026-01-01T00:00:00.000Z', o: 'stdout', l: 'GET / 200', b: 'b1', s: 1 };
    live.emit('vm_quiet', [line]);
    expect(JSON.parse(await first)).toEqual({ t: line.t, stream: 'stdout', line: 'GET / 200' });
    res.destroy();
  });
});
