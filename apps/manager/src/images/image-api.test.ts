import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';

const work = mkdtempSync(join(tmpdir(), 'hearth-image-api-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function ext4(name: string, files: Record<string, string>): Buffer {
  const root = join(work, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), text);
  }
  mkdirSync(root, { recursive: true });
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', root, join(work, `${name}.ext4`), '2M']);
  return readFileSync(join(work, `${name}.ext4`));
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The image registry through the API on both databases, without booting anything.
describeOnBackends('image API', (db) => {
  const api = useApiPlatform({ db, host: 'fake' });
  const inject = api.inject;
  const agent = () => ({ authorization: `Bearer ${api.agentToken}` });
  const put = (id: string, body: Buffer) =>
    inject({
      method: 'PUT',
      url: `/v1/images/${id}/content`,
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });

  it('declares, refuses a wrong size, accepts the right content, detects the init', async () => {
    const systemd = ext4('sd', { 'lib/systemd/systemd': '' });
    const img = (
      await inject({
        method: 'POST',
        url: '/v1/images',
        payload: { name: 'sd', sha256: sha(systemd), sizeBytes: systemd.length },
      })
    ).json();
    expect(img).toMatchObject({ status: 'pending', usedBy: [], source: 'upload' });
    const short = await put(img.id, systemd.subarray(0, 1024));
    expect(short.statusCode).toBe(422);
    expect(short.json().error).toMatchObject({
      code: 'IMAGE_CHECKSUM_MISMATCH',
      detail: { declaredBytes: systemd.length },
    });
    expect(readdirSync(join(api.p.dir, 'manager', 'images', 'tmp'))).toEqual([]);
    const ok = await put(img.id, systemd);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ready', meta: { init: 'systemd' } });
    const taken = await inject({
      method: 'POST',
      url: '/v1/images',
      payload: { name: 'sd', sha256: sha(systemd) },
    });
    expect(taken.json().error.code).toBe('IMAGE_NAME_TAKEN');
  });

  it('lists the VMs using an image and refuses to delete it until they are gone', async () => {
    const vm = (
      await inject({ method: 'POST', url: '/v1/vms', payload: { name: 'user1', image: 'sd', start: false } })
    ).json();
    expect(vm.image).toBeDefined();
    const got = (await inject({ method: 'GET', url: '/v1/images/sd' })).json();
    expect(got.usedBy).toEqual([vm.id]);
    const listed = (await inject({ method: 'GET', url: '/v1/images?limit=500' })).json();
    expect(listed.items.find((i: { name: string }) => i.name === 'kernel-default').usedBy).toContain(vm.id);
    const refused = await inject({ method: 'DELETE', url: '/v1/images/sd' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'IMAGE_IN_USE', detail: { usedBy: [vm.id] } });
    // No agent runs here to carry out a VM delete: drop the record directly.
    await api.p.manager.stores.vms.remove(vm.id);
    expect((await inject({ method: 'DELETE', url: '/v1/images/sd' })).statusCode).toBe(200);
  });

  it('a pending image cannot back a VM; host paths are refused unless allowed', async () => {
    await inject({ method: 'POST', url: '/v1/images', payload: { name: 'later', sha256: 'a'.repeat(64) } });
    const r = await inject({ method: 'POST', url: '/v1/vms', payload: { image: 'later', start: false } });
    expect(r.statusCode).toBe(409);
    expect(r.json().error.code).toBe('IMAGE_NOT_READY');
    const path = await inject({ method: 'POST', url: '/v1/images/import', payload: { ref: '/etc/passwd' } });
    expect(path.statusCode).toBe(403);
    expect(path.json().error).toMatchObject({
      code: 'IMAGE_SOURCE_FORBIDDEN',
      message: 'Importing /etc/passwd failed: this manager does not import from host paths.',
    });
    const dl = await inject({ method: 'GET', url: '/v1/images/later/content' });
    expect(dl.json().error.code).toBe('IMAGE_NOT_READY');
  });

  it('serves content to users and agents, not to join tokens', async () => {
    const base = (await inject({ method: 'GET', url: '/v1/images/base' })).json();
    const asAgent = await inject({ method: 'GET', url: `/v1/images/${base.id}/content`, headers: agent() });
    expect(asAgent.statusCode).toBe(200);
    expect(asAgent.headers['x-hearth-sha256']).toBe(base.sha256);
    expect(sha(asAgent.rawPayload)).toBe(base.sha256);
    const join = await inject({
      method: 'GET',
      url: `/v1/images/${base.id}/content`,
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
    });
    expect(join.statusCode).toBe(403);
    // Agents read images; they do not manage them.
    const del = await inject({ method: 'DELETE', url: `/v1/images/${base.id}`, headers: agent() });
    expect(del.statusCode).toBe(403);
  });
});
