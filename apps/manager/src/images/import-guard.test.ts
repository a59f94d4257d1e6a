import { readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { ImportAllowList, specialRange } from './egress-guard.ts';

/** A loopback server answering every GET with `body`, counting the requests it got. */
async function serve(
  handler: (path: string) => { status: number; body?: Buffer | string; location?: string },
) {
  const hits: string[] = [];
  const srv: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const r = handler(req.url ?? '');
    res.writeHead(r.status, r.location ? { location: r.location } : {}).end(r.body ?? '');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    hits,
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

// What stands behind a loopback port on a manager host: an agent, a database, a metadata proxy.
// Its answer looks like a kernel, so only the address guard can keep it out of the store.
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(1020, 1)]);

type Served = Awaited<ReturnType<typeof serve>>;

describe('URL imports refuse special addresses (SSRF)', () => {
  let secret: Served;
  let redirector: Served;
  // The redirector itself is allowed (as host:port); where it points is checked again.
  const importAllow: string[] = [];
  beforeAll(async () => {
    secret = await serve(() => ({ status: 200, body: ELF }));
    redirector = await serve((p) => ({
      status: 302,
      location: p === '/named' ? `http://localhost:${secret.port}/x` : `http://127.0.0.1:${secret.port}/x`,
    }));
    importAllow.push(`127.0.0.1:${redirector.port}`);
  });
  const api = useApiPlatform({ platform: { manager: { importAllow } } });
  afterAll(async () => {
    await secret.close();
    await redirector.close();
  });
  const stored = async () =>
    (await readdir(join(api.p.dir, 'manager', 'images'))).filter((f) => f !== 'tmp').length;
  const importing = (ref: string, name: string) =>
    api.inject({ method: 'POST', url: '/v1/images/import', payload: { ref, kind: 'kernel', name } });

  it.each([
    ['a loopback address', () => `http://127.0.0.1:${secret.port}/vmlinux`],
    ['a name resolving to loopback', () => `http://localhost:${secret.port}/vmlinux`],
    ['an IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${secret.port}/vmlinux`],
    ['a redirect to loopback', () => `http://127.0.0.1:${redirector.port}/`],
    ['a redirect to a name resolving to loopback', () => `http://127.0.0.1:${redirector.port}/named`],
  ])('%s is refused before anything is fetched from it, and nothing is stored', async (_l, ref) => {
    const before = { images: await api.count('images'), files: await stored() };
    const r = await importing(ref(), `k-${Math.random().toString(36).slice(2, 8)}`);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.json().error).toMatchObject({
      code: 'IMAGE_SOURCE_ADDRESS_REFUSED',
      message: expect.stringContaining('loopback'),
      hint: expect.stringContaining('HEARTH_IMPORT_ALLOW'),
    });
    expect(secret.hits).toEqual([]);
    expect(await api.count('images')).toBe(before.images);
    expect(await stored()).toBe(before.files);
  });

  it('an OCI reference to a loopback registry is refused before skopeo runs', async () => {
    const r = await api.inject({
      method: 'POST',
      url: '/v1/images/import',
      payload: { ref: `127.0.0.1:${secret.port}/app:v1` },
    });
    expect(r.json().error.code).toBe('IMAGE_SOURCE_ADDRESS_REFUSED');
    expect(secret.hits).toEqual([]);
  });
});

describe('imported artefacts are what their kind says', () => {
  const files: Record<string, Buffer | string> = {
    '/meta': '{"AccessKeyId":"AKIA…","SecretAccessKey":"…"}\n',
    '/html': '<html><body>not found</body></html>',
    '/vmlinux': ELF,
    '/initrd': gzipSync(Buffer.from('070701…')),
  };
  let src: Served;
  beforeAll(async () => {
    src = await serve((p) => (files[p] ? { status: 200, body: files[p] } : { status: 404 }));
  });
  const api = useApiPlatform({ platform: { manager: { importAllow: ['127.0.0.0/8'] } } });
  afterAll(() => src.close());
  const importing = (path: string, kind: string, name: string) =>
    api.inject({
      method: 'POST',
      url: '/v1/images/import',
      payload: { ref: `http://127.0.0.1:${src.port}${path}`, kind, name },
    });

  it.each([
    ['/meta', 'kernel'],
    ['/html', 'kernel'],
    ['/meta', 'initrd'],
    ['/vmlinux', 'initrd'],
    ['/initrd', 'kernel'],
    ['/vmlinux', 'rootfs'],
  ])('%s as a %s is IMAGE_FORMAT_INVALID, and nothing is kept', async (path, kind) => {
    const before = await api.count('images');
    const r = await importing(path, kind, `bad-${kind}-${path.slice(1)}`);
    expect(r.statusCode, r.body).toBe(422);
    expect(r.json().error.code).toBe('IMAGE_FORMAT_INVALID');
    expect(await api.count('images')).toBe(before);
  });

  it('a kernel and an initrd with the right magic are imported (an allowed loopback server)', async () => {
    expect((await importing('/vmlinux', 'kernel', 'ok-kernel')).statusCode).toBe(201);
    expect((await importing('/initrd', 'initrd', 'ok-initrd')).statusCode).toBe(201);
  });
});

describe('the address classifier and the allow-list', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'linkLocal'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052'],
    ['::7f00:1', 'ipv4Compatible'],
  ])('%s is %s', (address, range) => expect(specialRange(address)).toBe(range));

  it.each(['8.8.8.8', '2606:4700::1111'])('%s is public', (a) => expect(specialRange(a)).toBeNull());

  it('matches CIDRs, addresses and host:port entries', () => {
    const allow = new ImportAllowList([
      '10.0.0.0/8',
      '127.0.0.1:5000',
      'registry.lan:443',
      'fd00::/8',
      '::1',
    ]);
    expect(allow.allowsAddress('10.9.9.9', 80)).toBe(true);
    expect(allow.allowsAddress('127.0.0.1', 5000)).toBe(true);
    expect(allow.allowsAddress('127.0.0.1', 5001)).toBe(false);
    expect(allow.allowsAddress('::ffff:127.0.0.1', 5000)).toBe(true);
    expect(allow.allowsAddress('fd12::1', 1)).toBe(true);
    expect(allow.allowsAddress('::1', 9)).toBe(true);
    expect(allow.allowsName('Registry.LAN', 443)).toBe(true);
    expect(allow.allowsName('registry.lan', 80)).toBe(false);
    expect(() => new ImportAllowList(['not a thing'])).toThrow(/not a CIDR/);
  });
});
