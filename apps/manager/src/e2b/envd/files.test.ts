import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FileNotFoundError } from 'e2b';
import { useEnvdSandbox } from './filesystem/test-support/envd-sandbox.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// GET/POST /files through the e2b SDK (and raw requests in the SDK's shapes) on a real VM.
describe('envd /files', () => {
  const t = useEnvdSandbox();

  it('uploads and downloads 10 MB with its sha256 intact, streaming both ways', async () => {
    const sbx = t.sandbox();
    const data = randomBytes(10 * 1024 * 1024 + 123);
    const info = await sbx.files.write('/tmp/big/blob.bin', new Blob([data]));
    expect(info).toMatchObject({ path: '/tmp/big/blob.bin', name: 'blob.bin', type: 'file' });
    expect((await t.sh('sha256sum /tmp/big/blob.bin')).split(' ')[0]).toBe(sha256(data));

    const back = await sbx.files.read('/tmp/big/blob.bin', { format: 'bytes' });
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));

    // The stream form reads it chunk by chunk.
    const stream = await sbx.files.read('/tmp/big/blob.bin', { format: 'stream' });
    const hash = createHash('sha256');
    let chunks = 0;
    for await (const c of Readable.fromWeb(stream as never)) {
      hash.update(c as Buffer);
      chunks++;
    }
    expect(hash.digest('hex')).toBe(sha256(data));
    expect(chunks).toBeGreaterThan(1);
  });

  it('writes several files in one multipart request, each at its own path', async () => {
    const sbx = t.sandbox();
    const out = await sbx.files.write([
      { path: '/tmp/multi/one.txt', data: 'one' },
      { path: '/tmp/multi/sub/two.txt', data: 'two' },
      { path: 'three.txt', data: 'three' },
    ]);
    expect(out.map((f) => f.path)).toEqual([
      '/tmp/multi/one.txt',
      '/tmp/multi/sub/two.txt',
      '/root/three.txt',
    ]);
    expect(await t.sh('cat /tmp/multi/one.txt /tmp/multi/sub/two.txt /root/three.txt')).toBe('onetwothree');
    // Overwriting replaces the whole content.
    await sbx.files.write('/tmp/multi/one.txt', '1');
    expect(await sbx.files.read('/tmp/multi/one.txt')).toBe('1');
  });

  it('gives written files and new directories to `username`; root by default', async () => {
    const sbx = t.sandbox();
    await sbx.files.write('/tmp/alice-dir/nested/a.txt', 'hers', { user: 'alice' });
    expect(
      (await t.sh('stat -c %U:%G /tmp/alice-dir /tmp/alice-dir/nested /tmp/alice-dir/nested/a.txt')).trim(),
    ).toBe('alice:alice\nalice:alice\nalice:alice');
    expect(await sbx.files.getInfo('/tmp/alice-dir/nested/a.txt')).toMatchObject({
      owner: 'alice',
      group: 'alice',
    });
    // Alice can read her file as herself.
    const asAlice = await t.p.client.call('execVm', {
      params: { id: t.vm.id },
      body: { command: 'cat /tmp/alice-dir/nested/a.txt', user: 'alice' },
    });
    expect(asAlice.stdout).toBe('hers');
    // Rewriting it as root hands it to root, as envd does.
    await sbx.files.write('/tmp/alice-dir/nested/a.txt', 'root now', { user: 'root' });
    expect((await t.sh('stat -c %U /tmp/alice-dir/nested/a.txt')).trim()).toBe('root');
    await sbx.files.write('/tmp/default-user.txt', 'x');
    expect((await t.sh('stat -c %U /tmp/default-user.txt')).trim()).toBe('root');
  });

  it('answers missing files, directories and unknown users in envd shape', async () => {
    const sbx = t.sandbox();
    await expect(sbx.files.read('/nope/none.txt')).rejects.toBeInstanceOf(FileNotFoundError);
    const missing = await fetch(`${t.url}/files?path=/nope/none.txt`, {
      headers: { 'e2b-sandbox-id': t.vm.id },
    });
    expect(missing.status).toBe(404);
    const body = (await missing.json()) as { code: number; message: string };
    expect(body.code).toBe(404);
    expect(body.message).toMatch(/none\.txt/);

    const dir = await fetch(`${t.url}/files?path=/tmp`, { headers: { 'e2b-sandbox-id': t.vm.id } });
    expect(dir.status).toBe(400);
    expect(((await dir.json()) as { message: string }).message).toMatch(/directory/);

    const nobody = await fetch(`${t.url}/files?path=/tmp&username=mallory`);
    expect(nobody.status).toBe(401);

    // Writing over a directory is refused and leaves it be.
    await expect(sbx.files.write('/tmp', 'x')).rejects.toThrow();
    expect((await sbx.files.getInfo('/tmp')).type).toBe('dir');
  });

  it('takes a raw application/octet-stream body, gzip-encoded too (SDK with envd >= 0.5.7)', async () => {
    const sbx = t.sandbox('0.5.7');
    const data = randomBytes(3 * 1024 * 1024);
    const info = await sbx.files.write(
      '/tmp/raw/streamed.bin',
      Readable.toWeb(Readable.from([data])) as never,
    );
    expect(info).toMatchObject({ path: '/tmp/raw/streamed.bin' });
    expect((await t.sh('sha256sum /tmp/raw/streamed.bin')).split(' ')[0]).toBe(sha256(data));

    const res = await fetch(`${t.url}/files?path=/tmp/raw/zipped.txt&username=alice`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.from('unzipped in the guest')),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ name: 'zipped.txt', type: 'file', path: '/tmp/raw/zipped.txt' }]);
    expect(await t.sh('cat /tmp/raw/zipped.txt; stat -c " %U" /tmp/raw/zipped.txt')).toBe(
      'unzipped in the guest alice\n',
    );
  });
});
