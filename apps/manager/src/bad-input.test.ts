import { afterAll, describe, expect, it } from 'vitest';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { errorCatalogue } from '@hearth/contract';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { rawRequest } from '../../../test/helpers/raw-http.ts';

/** Every answer below is a catalogue envelope with a 4xx status and a hint. */
function expectEnvelope(status: number, body: string, code: string): Record<string, unknown> {
  expect(status, body).toBe(errorCatalogue[code as keyof typeof errorCatalogue].status);
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
  const e = (JSON.parse(body) as { error: Record<string, unknown> }).error;
  expect(e.code).toBe(code);
  expect(e.hint).toBeTruthy();
  return e;
}

// Input a hostile or careless client sends: each answer is a 4xx from the catalogue, never a 500,
// a hang, or a record made from it. A registered host is never called (nothing starts).
describeOnBackends('bad input', (db) => {
  // A short idle limit so the silent-server case ends quickly; its outcome, not its timing, is asserted.
  const api = useApiPlatform({
    db,
    // The upstreams below listen on loopback, which imports refuse unless the operator allows it.
    platform: { manager: { importIdleMs: 2000, importAllow: ['127.0.0.0/8'] } },
  });
  const upstreams: Array<Server | TcpServer> = [];
  const held: Socket[] = [];
  const inject = api.inject;
  const count = api.count;
  const expectBad = async (
    opts: Parameters<typeof inject>[0],
    code: string,
    field?: string,
  ): Promise<Record<string, unknown>> => {
    const r = await inject(opts);
    const e = expectEnvelope(r.statusCode, r.body, code);
    expect(e.requestId).toMatch(/^req_/);
    if (field) expect(Object.keys((e.fields as object) ?? {})).toContain(field);
    return e;
  };
  const listen = async <S extends Server | TcpServer>(s: S): Promise<number> => {
    upstreams.push(s);
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
    return (s.address() as { port: number }).port;
  };

  afterAll(async () => {
    for (const s of held) s.destroy();
    for (const s of upstreams) await new Promise((res) => s.close(res));
  });

  describe('bodies', () => {
    it('a JSON null body is not an empty object', async () => {
      const before = await count('vms');
      const json = { 'content-type': 'application/json' };
      await expectBad(
        { method: 'POST', url: '/v1/vms', payload: 'null', headers: json },
        'VALIDATION_FAILED',
      );
      await expectBad(
        { method: 'PATCH', url: '/v1/vms/ghost', payload: 'null', headers: json },
        'VALIDATION_FAILED',
      );
      expect(await count('vms')).toBe(before);
    });

    it('names a client field `constructor` like any other unknown field', async () => {
      await expectBad(
        { method: 'POST', url: '/v1/vms', payload: { start: false, constructor: 1 } },
        'VALIDATION_FAILED',
        'constructor',
      );
    });
  });

  describe('text PostgreSQL cannot store', () => {
    const vm = (extra: Record<string, unknown>) => ({
      method: 'POST',
      url: '/v1/vms',
      payload: { start: false, ...extra },
    });
    const cases: [string, Parameters<typeof inject>[0], string][] = [
      ['NUL in a path id', { method: 'GET', url: '/v1/vms/%00' }, 'id'],
      ['NUL in a path id (action)', { method: 'POST', url: '/v1/vms/a%00b/start' }, 'id'],
      ['NUL in a volume id', { method: 'DELETE', url: '/v1/volumes/%00' }, 'id'],
      ['NUL in a list filter', { method: 'GET', url: '/v1/vms?name=%00' }, 'name'],
      ['NUL in a project filter', { method: 'GET', url: '/v1/vms?project=x%00' }, 'project'],
      ['NUL in the image', vm({ image: 'base\u0000' }), 'image'],
      ['NUL in a label value', vm({ labels: { team: 'a\u0000' } }), 'labels.team'],
      ['NUL in a label key', vm({ labels: { 'a\u0000': 'x' } }), 'labels.a\u0000'],
      ['NUL in an env value', vm({ env: { A: '\u0000' } }), 'env.A'],
      ['NUL in the password', vm({ password: 'pass\u0000word' }), 'password'],
      ['a lone surrogate in a label', vm({ labels: { team: '\ud800' } }), 'labels.team'],
      ['a lone low surrogate in env', vm({ env: { A: 'x\udc00' } }), 'env.A'],
      [
        'a lone surrogate in a template',
        { method: 'POST', url: '/v1/templates', payload: { name: 'tpl-s', description: '\ud83d', spec: {} } },
        'description',
      ],
      [
        'NUL in a volume image',
        { method: 'POST', url: '/v1/volumes', payload: { name: 'vol-n', image: 'base\u0000' } },
        'image',
      ],
    ];
    it.each(cases)('%s', async (_label, req, field) => {
      const before = [await count('vms'), await count('templates'), await count('volumes')];
      const e = await expectBad(req, 'VALIDATION_FAILED', field);
      expect(String(e.message)).toMatch(/NUL|surrogate/);
      expect([await count('vms'), await count('templates'), await count('volumes')]).toEqual(before);
    });

    it('keeps well-formed non-ASCII text (emoji pairs) in labels', async () => {
      const r = await inject(vm({ name: 'emoji', labels: { team: 'fire \ud83d\udd25' } }));
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().labels.team).toBe('fire 🔥');
    });
  });

  describe('lookups by client-chosen names', () => {
    it.each(['runtime-__proto__', 'runtime-constructor', 'runtime-toString'])(
      '%s is no image',
      async (image) => {
        const before = await count('vms');
        await expectBad(
          { method: 'POST', url: '/v1/vms', payload: { start: false, image } },
          'IMAGE_NOT_FOUND',
        );
        expect(await count('vms')).toBe(before);
      },
    );
  });

  describe('projects are DNS labels everywhere', () => {
    it.each([
      ['a volume', '/v1/volumes', { name: 'vol-p' }],
      ['a template', '/v1/templates', { name: 'tpl-p', spec: {} }],
    ])('%s', async (_label, url, body) => {
      for (const project of ['../../etc', '$(reboot)', 'a\tb', 'UPPER']) {
        await expectBad(
          { method: 'POST', url, payload: { ...body, project } },
          'VALIDATION_FAILED',
          'project',
        );
      }
    });
  });

  describe('ids at the length the contract allows', () => {
    it('answers ids of 101 to 128 characters on every method with the usual 404', async () => {
      const id = 'v'.repeat(120);
      await expectBad({ method: 'GET', url: `/v1/vms/${id}` }, 'VM_NOT_FOUND');
      await expectBad({ method: 'POST', url: `/v1/vms/${id}/start` }, 'VM_NOT_FOUND');
      await expectBad({ method: 'DELETE', url: `/v1/vms/${id}` }, 'VM_NOT_FOUND');
    });
    it('refuses longer ids with VALIDATION_FAILED', async () => {
      await expectBad({ method: 'POST', url: `/v1/vms/${'v'.repeat(129)}/stop` }, 'VALIDATION_FAILED', 'id');
      await expectBad({ method: 'POST', url: `/v1/vms/${'v'.repeat(5000)}/stop` }, 'VALIDATION_FAILED');
    });
    it('refuses process ids the agent cannot route (too long, `..`, a slash) before asking it', async () => {
      const vm = await inject({
        method: 'POST',
        url: '/v1/vms',
        payload: { name: 'proc-len', start: false },
      });
      const base = `/v1/vms/${vm.json().id}/processes`;
      for (const pid of ['p'.repeat(101), 'a%2Fb', 'api.p.1']) {
        const url = `${base}/${pid}/stdin`;
        await expectBad({ method: 'POST', url, payload: { data: 'x' } }, 'VALIDATION_FAILED', 'processId');
      }
      // `%2e%2e` over a real socket: in-process requests resolve it to `..` before routing.
      const r = await rawRequest(
        api.p.manager.url,
        `GET ${base}/%2e%2e/output HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.admin().authorization}\r\nConnection: close\r\n\r\n`,
      );
      expect(expectEnvelope(r.status, r.body, 'VALIDATION_FAILED').fields).toHaveProperty('processId');
    });
    it('answers a malformed percent-escape with the envelope', async () => {
      await expectBad({ method: 'GET', url: '/v1/vms/%zz' }, 'MALFORMED_REQUEST');
      await expectBad({ method: 'POST', url: '/v1/vms/%E0%A4%A/start' }, 'MALFORMED_REQUEST');
    });
  });

  describe('WebSocket routes without an upgrade', () => {
    it('answer a plain GET with the envelope', async () => {
      const vm = await inject({
        method: 'POST',
        url: '/v1/vms',
        payload: { name: 'ws-plain', start: false },
      });
      expect(vm.statusCode, vm.body).toBe(201);
      await expectBad({ method: 'GET', url: `/v1/vms/${vm.json().id}/console` }, 'WEBSOCKET_REQUIRED');
    });
  });

  describe('authentication comes before the body', () => {
    const noToken = (payload: string, type = 'application/json') =>
      api.p.manager.app.inject({
        method: 'POST',
        url: '/v1/vms',
        payload,
        headers: { 'content-type': type },
      });
    it('a malformed body without a token is a 401', async () => {
      const r = await noToken('{"name": ');
      expectEnvelope(r.statusCode, r.body, 'UNAUTHENTICATED');
    });
    it('an oversized body without a token is a 401', async () => {
      const r = await noToken(JSON.stringify({ name: 'x'.repeat(2 * 2 ** 20) }));
      expectEnvelope(r.statusCode, r.body, 'UNAUTHENTICATED');
    });
    it('an unsupported content type without a token is a 401', async () => {
      const r = await noToken('<vm/>', 'application/xml');
      expectEnvelope(r.statusCode, r.body, 'UNAUTHENTICATED');
    });
  });

  describe('image imports', () => {
    const importing = (payload: Record<string, unknown>) => ({
      method: 'POST',
      url: '/v1/images/import',
      payload,
    });
    it.each([
      ['not a URL', { ref: 'x', source: 'url' }],
      ['an unterminated IPv6 host', { ref: 'http://[::1' }],
      ['ftp', { ref: 'ftp://127.0.0.1/rootfs.ext4', source: 'url' }],
      ['file', { ref: 'file:///etc/passwd', source: 'url' }],
      ['credentials in the URL', { ref: 'http://user:secret@127.0.0.1:1/rootfs.ext4' }],
      ['port 99999', { ref: 'http://127.0.0.1:99999/rootfs.ext4' }],
      ['port 0', { ref: 'http://127.0.0.1:0/rootfs.ext4' }],
      ['a registry port 99999', { ref: 'localhost:99999/app:v1' }],
    ])('%s is the caller’s mistake', async (_label, body) => {
      const before = await count('images');
      await expectBad(importing(body), 'VALIDATION_FAILED', 'ref');
      expect(await count('images')).toBe(before);
    });

    it.each([401, 403])('a source answering %i is IMAGE_SOURCE_DENIED', async (status) => {
      const port = await listen(createHttpServer((_req, res) => res.writeHead(status).end('no')));
      const e = await expectBad(
        importing({ ref: `http://127.0.0.1:${port}/img.ext4` }),
        'IMAGE_SOURCE_DENIED',
      );
      expect(e.message).toContain(String(status));
    });

    it('gives up on a server that accepts and never answers', async () => {
      const port = await listen(createTcpServer((s) => held.push(s.on('error', () => undefined))));
      const r = await inject(importing({ ref: `http://127.0.0.1:${port}/img.ext4` }));
      expect(r.statusCode, r.body).toBe(502);
      expect(r.json().error).toMatchObject({
        code: 'IMAGE_SOURCE_UNREACHABLE',
        message: expect.stringContaining('sent nothing'),
      });
    });
  });

  describe('failures of the HTTP parser (a real socket)', () => {
    const send = (bytes: string | Buffer) => rawRequest(api.p.manager.url, bytes);
    const get = (path: string, headers = '') =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.admin().authorization}\r\n${headers}\r\n`;
    it('a control byte in a header value', async () => {
      const r = await send(get('/v1/vms', 'X-Bad: a\u0001b\r\n'));
      expectEnvelope(r.status, r.body, 'MALFORMED_REQUEST');
    });
    it('a raw control byte in the URL', async () => {
      const r = await send(get('/v1/vms/\u0001'));
      expectEnvelope(r.status, r.body, 'MALFORMED_REQUEST');
    });
    it('headers over 16 KiB', async () => {
      const r = await send(get('/v1/vms', `X-Big: ${'a'.repeat(20_000)}\r\n`));
      expectEnvelope(r.status, r.body, 'REQUEST_HEADERS_TOO_LARGE');
    });
    it('a URL over 16 KiB', async () => {
      const r = await send(get(`/v1/vms?name=${'a'.repeat(20_000)}`));
      expectEnvelope(r.status, r.body, 'REQUEST_HEADERS_TOO_LARGE');
    });
    it('garbage instead of HTTP', async () => {
      const r = await send(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]));
      expectEnvelope(r.status, r.body, 'MALFORMED_REQUEST');
    });
    it('is still healthy', async () => {
      const r = await send('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(r.status).toBe(200);
    });
  });
});
