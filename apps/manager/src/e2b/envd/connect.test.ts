import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import {
  endEnvelope,
  envelope,
  firstMessage,
  installConnectParsers,
  serverStreaming,
  toEnvdError,
  unary,
} from './connect.ts';
import { EnvdError } from './context.ts';
import { metadataFilter } from '../control-routes.ts';

/** Splits a streamed body into its envelopes. */
function envelopes(body: Buffer): { flags: number; json: unknown }[] {
  const out: { flags: number; json: unknown }[] = [];
  for (let i = 0; i < body.length;) {
    const len = body.readUInt32BE(i + 1);
    out.push({ flags: body[i]!, json: JSON.parse(body.subarray(i + 5, i + 5 + len).toString()) });
    i += 5 + len;
  }
  return out;
}

describe('Connect framing', () => {
  it('round-trips an envelope and flags the end of a stream', () => {
    expect(firstMessage(envelope({ a: 1 }))).toEqual({ a: 1 });
    expect(envelopes(endEnvelope())).toEqual([{ flags: 2, json: {} }]);
    expect(envelopes(endEnvelope(new EnvdError('not_found', 'gone')))).toEqual([
      { flags: 2, json: { error: { code: 'not_found', message: 'gone' } } },
    ]);
    expect(() => firstMessage(Buffer.from([0, 0, 0, 0, 9, 1]))).toThrow(/truncated/);
  });

  it('maps the catalogue onto Connect codes', () => {
    expect(toEnvdError(new HearthError('VM_NOT_FOUND', 'x')).code).toBe('not_found');
    expect(toEnvdError(new Error('boom')).code).toBe('internal');
  });

  it('serves unary and server-streaming methods, errors in Connect’s shape', async () => {
    const app = Fastify();
    installConnectParsers(app);
    unary(app, '/svc.S/Echo', async (msg) => {
      if (msg.fail) throw new EnvdError('permission_denied', 'no');
      return { echo: msg.text };
    });
    serverStreaming(app, '/svc.S/Count', async (msg, _req, stream) => {
      if (msg.fail) throw new EnvdError('invalid_argument', 'bad');
      for (let i = 1; i <= Number(msg.n); i++) stream.send({ i });
      stream.end();
    });
    const ok = await app.inject({
      method: 'POST',
      url: '/svc.S/Echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"text":"hi"}',
    });
    expect([ok.statusCode, ok.json()]).toEqual([200, { echo: 'hi' }]);
    const denied = await app.inject({
      method: 'POST',
      url: '/svc.S/Echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"fail":true}',
    });
    expect([denied.statusCode, denied.json()]).toEqual([403, { code: 'permission_denied', message: 'no' }]);
    const streamed = await app.inject({
      method: 'POST',
      url: '/svc.S/Count',
      headers: { 'content-type': 'application/connect+json' },
      payload: envelope({ n: 2 }),
    });
    expect(streamed.headers['content-type']).toMatch(/application\/connect\+json/);
    expect(envelopes(streamed.rawPayload)).toEqual([
      { flags: 0, json: { i: 1 } },
      { flags: 0, json: { i: 2 } },
      { flags: 2, json: {} },
    ]);
    const failed = await app.inject({
      method: 'POST',
      url: '/svc.S/Count',
      headers: { 'content-type': 'application/connect+json' },
      payload: envelope({ fail: true }),
    });
    expect(envelopes(failed.rawPayload)).toEqual([
      { flags: 2, json: { error: { code: 'invalid_argument', message: 'bad' } } },
    ]);
    await app.close();
  });
});

describe('the metadata filter', () => {
  it('undoes the SDK’s encoding of each key and value', () => {
    // What Fastify hands over after undoing the outer layer of `?metadata=…`.
    const sent = new URLSearchParams({
      [encodeURIComponent('a&b')]: encodeURIComponent('x=y z'),
      plain: 'v',
    }).toString();
    expect(metadataFilter(sent)).toEqual({ 'a&b': 'x=y z', plain: 'v' });
    expect(metadataFilter(undefined)).toEqual({});
  });
});
