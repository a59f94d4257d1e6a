import { describe, expect, it } from 'vitest';
import { HearthClient } from './client.ts';

/** A fetch that answers every request with an empty page and keeps what it was sent. */
function recorder() {
  const sent: { url: string; headers: Record<string, string> }[] = [];
  const fetch = (async (url: URL, init: RequestInit) => {
    sent.push({ url: String(url), headers: init.headers as Record<string, string> });
    return new Response(JSON.stringify({ items: [], nextCursor: null }), { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { sent, fetch };
}

describe('HearthClient project', () => {
  it('sends X-Hearth-Project on every request when a project is set, and none otherwise', async () => {
    const r = recorder();
    const plain = new HearthClient({ baseUrl: 'http://hearth.test', token: 't', fetch: r.fetch });
    await plain.call('listVms');
    expect(r.sent[0]!.headers).not.toHaveProperty('x-hearth-project');
    const inA = new HearthClient({ baseUrl: 'http://hearth.test', token: 't', project: 'a', fetch: r.fetch });
    await inA.call('listVms');
    await inA.call('deleteVm', { params: { id: 'x' } });
    expect(r.sent.slice(1).map((s) => s.headers['x-hearth-project'])).toEqual(['a', 'a']);
    expect(inA.websocket('vmConsole', { params: { id: 'x' } }).headers['x-hearth-project']).toBe('a');
  });

  it('switches project with withProject, leaving the original client as it was', async () => {
    const r = recorder();
    const a = new HearthClient({ baseUrl: 'http://hearth.test', token: 't', project: 'a', fetch: r.fetch });
    const b = a.withProject('b');
    await b.call('listVms');
    await a.call('listVms');
    await a.withProject(null).call('listVms');
    expect(r.sent.map((s) => s.headers['x-hearth-project'])).toEqual(['b', 'a', undefined]);
    expect([a.project, b.project]).toEqual(['a', 'b']);
  });
});
