import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function listen(handler: Parameters<typeof createServer>[1]) {
  const srv: Server = createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

/**
 * Just enough of the registry API for skopeo to reach a blob: /v2/, a manifest (by tag and by
 * digest), and every blob GET answered with a redirect to `blobAt(repository)` — as registries
 * send blob downloads to a storage host.
 */
async function redirectingRegistry(blobAt: (repo: string) => string) {
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const layer = Buffer.from('not fetched');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha(config),
      size: config.length,
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(layer), size: layer.length },
    ],
  });
  const blobRequests: string[] = [];
  const srv = await listen((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/' || url === '/v2') {
      return void res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(url);
    if (m?.[2] === 'manifests') {
      return void res
        .writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': sha(manifest),
          'content-length': Buffer.byteLength(manifest),
        })
        .end(req.method === 'HEAD' ? undefined : manifest);
    }
    if (m?.[2] === 'blobs') {
      blobRequests.push(url);
      return void res.writeHead(307, { location: `${blobAt(m[1]!)}${m[3]}` }).end();
    }
    res.writeHead(404).end();
  });
  return { ...srv, blobRequests };
}

describe('OCI pulls: every connection skopeo makes passes the import address guard', () => {
  const hits: string[] = [];
  let secret: Awaited<ReturnType<typeof listen>>;
  let registry: Awaited<ReturnType<typeof redirectingRegistry>>;
  // Only the registry itself is allowed (host:port); where it redirects to is checked on its own.
  const importAllow: string[] = [];
  beforeAll(async () => {
    // What stands behind a loopback port on a manager host (an agent, a database, a metadata proxy).
    secret = await listen((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200).end('secret');
    });
    const targets: Record<string, string> = {
      literal: `http://127.0.0.1:${secret.port}/`,
      named: `http://localhost:${secret.port}/`,
      // Not a loopback literal to Go, so it goes to the proxy, which resolves and refuses it.
      short: `http://127.1:${secret.port}/`,
    };
    registry = await redirectingRegistry((repo) => targets[repo]!);
    importAllow.push(`127.0.0.1:${registry.port}`);
  });
  const api = useApiPlatform({ platform: { manager: { importAllow } } });
  afterAll(async () => {
    await secret?.close();
    await registry?.close();
  });

  it.each([
    ['a loopback address', 'literal'],
    ['localhost', 'named'],
    ['a loopback address Go does not recognise (127.1)', 'short'],
  ])(
    'a blob redirect to %s is refused, and nothing reaches it',
    async (_label, repo) => {
      const before = { images: await api.count('images'), blobs: registry.blobRequests.length };
      const r = await api.inject({
        method: 'POST',
        url: '/v1/images/import',
        payload: { ref: `127.0.0.1:${registry.port}/${repo}:v1` },
      });
      expect(r.statusCode, r.body).toBe(403);
      expect(r.json().error).toMatchObject({
        code: 'IMAGE_SOURCE_ADDRESS_REFUSED',
        message: expect.stringMatching(/loopback/),
        hint: expect.stringContaining('HEARTH_IMPORT_ALLOW'),
      });
      // The pull got as far as the redirect, and the redirect's target got nothing.
      expect(registry.blobRequests.length).toBeGreaterThan(before.blobs);
      expect(hits).toEqual([]);
      expect(await api.count('images')).toBe(before.images);
    },
    60_000,
  );
});

// An allowed loopback registry still imports through the proxy (and a down one is unreachable):
// test/e2e/images.test.ts, which already runs a real docker-registry.
