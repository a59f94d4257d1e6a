import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HearthError, type Image, type ImportEvent, type Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { freePort } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

let p: Platform;
let reg: LocalRegistry;
let ref: string;
const work = mkdtempSync(join(tmpdir(), 'hearth-images-test-'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function expectError(fn: () => Promise<unknown>, code: string): Promise<HearthError> {
  const e = await fn().then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(HearthError);
  expect((e as HearthError).code).toBe(code);
  return e as HearthError;
}

/** The image store holds exactly the files of ready images: no temporaries, no orphans. */
async function expectStoreClean(): Promise<void> {
  const dir = join(p.dir, 'manager', 'images');
  expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  const images = await p.client.all('listImages');
  const paths = new Set(images.filter((i) => i.status === 'ready').map((i) => i.path.split('/').pop()));
  expect(readdirSync(dir).filter((f) => f !== 'tmp' && !paths.has(f))).toEqual([]);
}

async function importStream(body: Record<string, unknown>): Promise<ImportEvent[]> {
  const res = await p.client.raw('importImage', { body: { ...body, stream: true } as never });
  expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
  const events: ImportEvent[] = [];
  for await (const line of createInterface({ input: Readable.fromWeb(res.body as never) })) {
    if (line) events.push(JSON.parse(line) as ImportEvent);
  }
  return events;
}

function tinyExt4(name: string, files: Record<string, string>): Buffer {
  const root = join(work, `${name}-root`);
  execFileSync('mkdir', ['-p', join(root, 'etc')]);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(root, f), text);
  const out = join(work, `${name}.ext4`);
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', root, out, '4M']);
  return execFileSync('cat', [out], { maxBuffer: 64 * 2 ** 20 });
}

beforeAll(async () => {
  reg = await startRegistry();
  ref = await pushTestImage(reg.host, 'hearth-test/hello', 'v1');
  // The agent fetches every image over HTTP (as on a second host) instead of reading the manager's files.
  // The registry and the test's web servers listen on loopback, which imports refuse unless allowed.
  p = await startPlatform({
    manager: { allowHostPathImport: true, importAllow: ['127.0.0.0/8'] },
    alwaysFetchImages: true,
  });
}, 120_000);

afterAll(async () => {
  await p?.dispose();
  await reg?.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('OCI import from a real registry and a VM booted from it', () => {
  let image: Image;
  let vm: Vm;

  it('imports by reference with progress, keeping the image config', async () => {
    const t0 = Date.now();
    const events = await importStream({ ref });
    const done = events.at(-1);
    expect(done?.type, JSON.stringify(events.slice(-3))).toBe('done');
    const phases = new Set(events.flatMap((e) => (e.type === 'progress' ? [e.phase] : [])));
    expect([...phases]).toEqual(expect.arrayContaining(['resolve', 'pull', 'unpack', 'build', 'store']));
    image = (done as Extract<ImportEvent, { type: 'done' }>).image;
    console.log(`OCI import of ${ref}: ${Date.now() - t0} ms, ${image.sizeBytes} bytes`);
    expect(image).toMatchObject({ kind: 'rootfs', format: 'ext4', status: 'ready', name: 'oci-hello-v1' });
    expect(image.source).toBe(`oci:${ref}`);
    expect(image.meta).toMatchObject({
      init: 'hearth-guest',
      oci: {
        entrypoint: ['/usr/local/bin/hello.sh'],
        cmd: ['from-cmd'],
        env: expect.arrayContaining(['GREETING=hello from the image', 'MODE=image']),
        workdir: '/srv',
        exposedPorts: ['8080/tcp'],
      },
    });
    // The same digest again is the same image, not a second pull.
    const again = await p.client.call('importImage', { body: { ref } });
    expect(again.id).toBe(image.id);
  }, 120_000);

  it('boots it with the guest agent as PID 1 running ENTRYPOINT + CMD with its ENV; exec works', async () => {
    const t0 = Date.now();
    const created = await p.client.call('createVm', {
      body: { name: 'oci-vm', image: image.id, env: { MODE: 'vm' }, memoryMib: 128 },
    });
    vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 120 },
    });
    const who = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'cat /proc/1/comm; cat /proc/cmdline' },
    });
    console.log(`OCI VM create to first exec: ${Date.now() - t0} ms`);
    expect(who.exitCode).toBe(0);
    expect(who.stdout).toMatch(/^hearth-guest\n/);
    expect(who.stdout).toContain('init=/usr/sbin/hearth-guest');
    // The app's output reaches the serial console; the VM's env overrides the image's.
    let logs = '';
    await until('app output on the console', async () => {
      logs = await p.client.call('vmLogs', { params: { id: vm.id } });
      return logs.includes('hello-app:');
    });
    expect(logs).toContain('hello-app: GREETING=hello from the image MODE=vm pwd=/srv uid=0 args=from-cmd');
    const env = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: 'cat /srv/app.env' },
    });
    expect(env.stdout).toContain('GREETING=hello from the image');
    // exec in the image sees its ENV too (PATH includes /usr/local/bin).
    const which = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: ['hello.sh', '--help'], timeoutMs: 2000 },
    });
    expect(which.stdout).toContain('hello-app:');
    // With no init script, the agent as PID 1 configured the network from the kernel command line.
    const net = await p.client.call('execVm', {
      params: { id: vm.id },
      body: { command: `ip -4 addr show eth0 && ping -c 1 -W 5 ${p.net.gateway}`, timeoutMs: 15_000 },
    });
    expect(net.exitCode, net.stdout + net.stderr).toBe(0);
    expect(net.stdout).toContain(`inet ${vm.ip}/24`);
    // The agent fetched the image from the manager and cached it by digest.
    expect(readdirSync(join(p.dir, 'agent', 'images'))).toContain(image.sha256);
  }, 180_000);

  it('refuses to delete an image a VM uses, then deletes it once the VM is gone', async () => {
    const e = await expectError(
      () => p.client.call('deleteImage', { params: { id: image.id } }),
      'IMAGE_IN_USE',
    );
    expect(e.detail).toEqual({ usedBy: [vm.id] });
    expect((await p.client.call('getImage', { params: { id: image.id } })).usedBy).toEqual([vm.id]);
    // A graceful stop reaches the agent as PID 1, which powers the VM off.
    await p.client.call('stopVm', { params: { id: vm.id }, body: { timeoutSeconds: 30 } });
    const stopped = await p.client.call('waitVm', {
      params: { id: vm.id },
      query: { state: 'stopped', timeout: 60 },
    });
    expect(stopped.state).toBe('stopped');
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await until('VM deleted', async () =>
      p.client.call('getVm', { params: { id: vm.id } }).then(
        () => false,
        () => true,
      ),
    );
    await p.client.call('deleteImage', { params: { id: image.id } });
    await expectError(() => p.client.call('getImage', { params: { id: image.id } }), 'IMAGE_NOT_FOUND');
    await expectStoreClean();
  }, 60_000);
});

describe('bad input leaves nothing behind', () => {
  it('unknown tag, unknown repository, unreachable registry, malformed reference', async () => {
    const before = (await p.client.all('listImages')).length;
    const tag = await expectError(
      () => p.client.call('importImage', { body: { ref: `${reg.host}/hearth-test/hello:nope` } }),
      'IMAGE_SOURCE_NOT_FOUND',
    );
    expect(tag.message).toMatch(/^Resolving .* failed: the registry has no image/);
    await expectError(
      () => p.client.call('importImage', { body: { ref: `${reg.host}/no/such:v1` } }),
      'IMAGE_SOURCE_NOT_FOUND',
    );
    const port = await freePort();
    const down = await expectError(
      () => p.client.call('importImage', { body: { ref: `127.0.0.1:${port}/x/y:v1` } }),
      'IMAGE_SOURCE_UNREACHABLE',
    );
    expect(down.message).toMatch(/could not be reached.*connection refused/);
    await expectError(() => p.client.call('importImage', { body: { ref: 'Bad Ref!' } }), 'VALIDATION_FAILED');
    // In a stream, the failure is the last event.
    const events = await importStream({ ref: `${reg.host}/hearth-test/hello:nope` });
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'IMAGE_SOURCE_NOT_FOUND' } });
    expect((await p.client.all('listImages')).length).toBe(before);
    await expectStoreClean();
  }, 60_000);

  it('upload: a checksum mismatch keeps nothing; the right content round-trips with its sha256', async () => {
    const content = tinyExt4('upload', { 'etc/inittab': '::sysinit:/bin/true\n' });
    const sha = sha256(content);
    const img = await p.client.call('createImage', { body: { name: 'uploaded', sha256: sha } });
    expect(img).toMatchObject({ status: 'pending', kind: 'rootfs', format: 'ext4' });
    const corrupt = Buffer.from(content);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    const put = (body: Buffer) =>
      p.client.raw(
        'uploadImageContent',
        { params: { id: img.id } },
        { body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } },
      );
    const bad = await expectError(() => put(corrupt), 'IMAGE_CHECKSUM_MISMATCH');
    expect(bad.status).toBe(422);
    expect(bad.message).toMatch(
      /^Uploading image "uploaded" failed: the content hashes to sha256 [0-9a-f]{64}, not the declared/,
    );
    expect((await p.client.call('getImage', { params: { id: img.id } })).status).toBe('pending');
    await expectStoreClean();
    // A pending image cannot back a VM.
    await expectError(
      () => p.client.call('createVm', { body: { image: img.id, start: false } }),
      'IMAGE_NOT_READY',
    );

    const ready = (await (await put(content)).json()) as Image;
    expect(ready).toMatchObject({ status: 'ready', sha256: sha, sizeBytes: content.length });
    expect(ready.meta.init).toBe('inittab');
    await expectError(() => put(content), 'IMAGE_NOT_PENDING');
    const down = await p.client.raw('downloadImageContent', { params: { id: img.id } });
    expect(down.headers.get('x-hearth-sha256')).toBe(sha);
    expect(sha256(Buffer.from(await down.arrayBuffer()))).toBe(sha);
    await p.client.call('deleteImage', { params: { id: img.id } });
    await expectStoreClean();
  });

  it('upload of something that is not ext4 is refused as a rootfs', async () => {
    const junk = Buffer.alloc(64 * 1024, 7);
    const img = await p.client.call('createImage', { body: { name: 'junk', sha256: sha256(junk) } });
    await expectError(
      () =>
        p.client.raw(
          'uploadImageContent',
          { params: { id: img.id } },
          { body: new Uint8Array(junk), headers: { 'content-type': 'application/octet-stream' } },
        ),
      'IMAGE_FORMAT_INVALID',
    );
    await p.client.call('deleteImage', { params: { id: img.id } });
    await expectStoreClean();
  });

  it('host path imports (allowed here) and URL imports, with sha256 checks', async () => {
    const content = tinyExt4('hostpath', {});
    const file = join(work, 'hostpath.ext4');
    await expectError(
      () => p.client.call('importImage', { body: { ref: file, sha256: '0'.repeat(64) } }),
      'IMAGE_CHECKSUM_MISMATCH',
    );
    const fromPath = await p.client.call('importImage', { body: { ref: file, name: 'from-path' } });
    expect(fromPath).toMatchObject({
      sha256: sha256(content),
      source: `path:${file}`,
      meta: { init: 'hearth-guest' },
    });
    await expectError(
      () => p.client.call('importImage', { body: { ref: join(work, 'missing.ext4') } }),
      'IMAGE_SOURCE_NOT_FOUND',
    );
    // A plain web server on loopback serves the same file for the URL import.
    const srv = createServer((req, res) => {
      if (req.url === '/img.ext4') res.end(content);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      await expectError(
        () => p.client.call('importImage', { body: { ref: `${base}/no-such-file.ext4` } }),
        'IMAGE_SOURCE_NOT_FOUND',
      );
      await expectError(
        () => p.client.call('importImage', { body: { ref: `${base}/img.ext4`, sha256: 'f'.repeat(64) } }),
        'IMAGE_CHECKSUM_MISMATCH',
      );
      const fromUrl = await p.client.call('importImage', {
        body: { ref: `${base}/img.ext4`, name: 'from-url' },
      });
      expect(fromUrl).toMatchObject({ sha256: sha256(content), source: `url:${base}/img.ext4` });
      // Same content, one file in the store: deleting one image keeps the other's content.
      expect(fromUrl.path).toBe(fromPath.path);
    } finally {
      srv.close();
    }
    const closed = await freePort();
    await expectError(
      () => p.client.call('importImage', { body: { ref: `http://127.0.0.1:${closed}/x.ext4` } }),
      'IMAGE_SOURCE_UNREACHABLE',
    );
    await p.client.call('deleteImage', { params: { id: 'from-path' } });
    await expectStoreClean();
    await p.client.call('deleteImage', { params: { id: 'from-url' } });
    await expectStoreClean();
  });

  it('a disk smaller than the image is refused before anything is made', async () => {
    const base = await p.client.call('getImage', { params: { id: 'base' } });
    const e = await expectError(
      () => p.client.call('createVm', { body: { name: 'too-small', diskSize: '1mib' } }),
      'VALIDATION_FAILED',
    );
    expect(e.message).toContain(`smaller than image "${base.name}"`);
    await expectError(() => p.client.call('getVm', { params: { id: 'too-small' } }), 'VM_NOT_FOUND');
  });

  it('built-in images are never deleted', async () => {
    await expectError(() => p.client.call('deleteImage', { params: { id: 'base' } }), 'IMAGE_IN_USE');
  });
});
