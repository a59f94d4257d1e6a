import { get, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { VmRow } from '../store/mappers.ts';
import { streamAppLogs, type AppDeps } from './app-logs.ts';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** Resolves with the response as soon as its headers arrive (before any body). */
function headersOf(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
}

describe('the container log relay', () => {
  it('answers a follow at once while the agent has sent no line, and ends the agent request when the client leaves', async () => {
    let push!: (line: string) => void;
    let agentSignal: AbortSignal | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (line) => c.enqueue(new TextEncoder().encode(line));
      },
    });
    const deps = {
      stores: { hosts: { require: async () => ({ id: 'host_1' }) } },
      agents: {
        raw: async (_host: unknown, _id: string, _input: unknown, init: { signal?: AbortSignal }) => {
          agentSignal = init.signal;
          return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
        },
      },
    } as unknown as Pick<AppDeps, 'stores' | 'agents'>;
    const vm = { id: 'vm_1', name: 'web', host_id: 'host_1', state: 'running' } as VmRow;
    app = Fastify({ forceCloseConnections: true });
    app.get('/logs', (_req, reply) => streamAppLogs(deps, vm, { follow: 'true', format: 'ndjson' }, reply));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });

    const res = await headersOf(`${url}/logs`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    res.setEncoding('utf8');
    const first = new Promise<string>((resolve) => res.once('data', resolve));
    push('{"t":"2026-01-01T00:00:00.000Z","stream":"stdout","line":"hello"}\n');
    expect(await first).toContain('"line":"hello"');

    expect(agentSignal?.aborted).toBe(false);
    const aborted = new Promise<void>((resolve) => agentSignal!.addEventListener('abort', () => resolve()));
    res.destroy();
    await aborted;
  });
});
