import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startManager, type RunningManager } from '@hearth/manager';
import { ImageCache, ManagerClient } from '@hearth/agent';

// The agent side of image distribution against a real manager (PGlite, real HTTP, real agent token).
const work = mkdtempSync(join(tmpdir(), 'hearth-image-cache-'));
let m: RunningManager;
let agentToken: string;
let image: { id: string; path: string; sha256: string };

beforeAll(async () => {
  m = await startManager({
    dataDir: join(work, 'manager'),
    host: '127.0.0.1',
    port: 0,
    databaseUrl: null,
    network: null,
    heartbeatMs: 60_000,
    log: pino({ level: 'silent' }),
    version: 'test',
  });
  const reg = await fetch(`${m.url}/v1/hosts/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${m.joinToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'cache-test',
      url: 'http://127.0.0.1:1',
      callbackToken: 'x'.repeat(32),
      inventory: {
        cpus: 1,
        memoryMib: 512,
        memoryFreeMib: 512,
        diskFreeMib: 1000,
        kernel: 'test',
        arch: 'x86_64',
        vmms: [],
        checks: [],
      },
    }),
  });
  expect(reg.status, await reg.clone().text()).toBe(200);
  agentToken = ((await reg.json()) as { agentToken: string }).agentToken;
  const base = await m.stores.images.require('base', 'default');
  image = { id: base.id, path: base.path, sha256: base.sha256 };
}, 120_000);

afterAll(async () => {
  await m?.dispose();
  rmSync(work, { recursive: true, force: true });
});

// The agent's own client (node:http, no fetch: the agent runs without WebAssembly).
const fetchWith = (token: string) => (id: string) => new ManagerClient(m.url, token).fetchImage(id);

describe('agent image cache', () => {
  it('uses the manager file in place only when it hashes to the expected digest', async () => {
    const cache = new ImageCache({ dir: join(work, 'c1'), fetchContent: fetchWith(agentToken) });
    expect(await cache.local(image)).toBe(image.path);
    // A file at that path with other content is not "the same file": fetched instead.
    const other = join(work, 'other.ext4');
    writeFileSync(other, 'not the image');
    const got = await cache.local({ ...image, path: other });
    expect(got).toBe(join(work, 'c1', image.sha256));
  });

  it('fetches with the agent token, verifies the digest, caches by sha256', async () => {
    const dir = join(work, 'c2');
    const cache = new ImageCache({ dir, fetchContent: fetchWith(agentToken), alwaysFetch: true });
    const p = await cache.local({ ...image, path: '/nonexistent' });
    expect(p).toBe(join(dir, image.sha256));
    expect(createHash('sha256').update(readFileSync(p)).digest('hex')).toBe(image.sha256);
    expect(readdirSync(dir)).toEqual([image.sha256]);
    // A second VM needs no second download.
    const offline = new ImageCache({
      dir,
      fetchContent: () => Promise.reject(new Error('offline')),
      alwaysFetch: true,
    });
    expect(await offline.local({ ...image, path: '/nonexistent' })).toBe(p);
  });

  it('refuses content with another digest and keeps nothing', async () => {
    const dir = join(work, 'c3');
    const cache = new ImageCache({ dir, fetchContent: fetchWith(agentToken), alwaysFetch: true });
    const wrong = 'a'.repeat(64);
    await expect(cache.local({ ...image, sha256: wrong })).rejects.toThrow(
      /^Fetching image img_\w+ from the manager failed: the content hashes to [0-9a-f]{64}, not a{64}/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('says why when the manager refuses (bad token) or the image is unknown', async () => {
    const cache = new ImageCache({
      dir: join(work, 'c4'),
      fetchContent: fetchWith('nope'),
      alwaysFetch: true,
    });
    await expect(cache.local(image)).rejects.toThrow(/failed: HTTP 401 .*UNAUTHENTICATED/);
    const good = new ImageCache({
      dir: join(work, 'c5'),
      fetchContent: fetchWith(agentToken),
      alwaysFetch: true,
    });
    await expect(good.local({ ...image, id: 'img_missing' })).rejects.toThrow(/HTTP 404 .*IMAGE_NOT_FOUND/);
    await expect(
      good.local({ path: '/nonexistent', sha256: image.sha256.replace(/^./, '0') }),
    ).rejects.toThrow(/not readable on this host and the manager sent no image id/);
  });
});
