import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnBackends, useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { capturingLog } from '../../../../test/helpers/capturing-log.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../../../../test/helpers/oci.ts';

// Private registries: Debian's docker-registry behind htpasswd (bcrypt) basic auth, imported from
// in process (no VM). The password is stored sealed, never answered, never logged.
const username = 'hearth-ci';
const password = `pw-${randomBytes(12).toString('hex')}`;
let reg: LocalRegistry;
let ref: string;
const importAllow: string[] = [];

beforeAll(async () => {
  reg = await startRegistry({ htpasswd: { username, password } });
  importAllow.push(reg.host);
  ref = await pushTestImage(reg.host, 'private/hello', 'v1', {}, `${username}:${password}`);
}, 120_000);
afterAll(async () => reg?.dispose());

const authDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('hearth-registry-auth-'));

describeOnBackends('private registry credentials', (db) => {
  const capture = capturingLog();
  const api = useApiPlatform({ db, platform: { manager: { importAllow }, log: capture.log } });
  const inject = api.inject;
  const importRef = (r: string, project?: string) =>
    inject({
      method: 'POST',
      url: '/v1/images/import',
      payload: { ref: r },
      ...(project ? { headers: { 'x-hearth-project': project } } : {}),
    });
  const put = (host: string, body: Record<string, unknown>) =>
    inject({ method: 'PUT', url: `/v1/registries/${host}`, payload: body });

  it('refuses an import without credentials, then with a wrong password, then imports', async () => {
    const none = await importRef(ref);
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toMatchObject({ code: 'REGISTRY_AUTH_FAILED' });
    expect(none.json().error.message).toContain(`stores none for ${reg.host}`);
    expect(none.json().error.hint).toContain('hearth registry login');

    const wrongPut = await put(reg.host, { username, password: 'not-the-password' });
    expect(wrongPut.statusCode).toBe(200);
    expect(wrongPut.json()).toMatchObject({ registry: reg.host, username, project: 'default' });
    expect(JSON.stringify(wrongPut.json())).not.toContain('not-the-password');
    const wrong = await importRef(ref);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('REGISTRY_AUTH_FAILED');
    expect(wrong.json().error.message).toContain(`stored credentials of user "${username}"`);

    // PUT again replaces them (one row per project and host).
    expect((await put(reg.host, { username, password })).statusCode).toBe(200);
    const ok = await importRef(ref);
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ status: 'ready', source: `oci:${ref}` });
    // An unknown tag with good credentials is a missing image, not a refusal.
    const tag = await importRef(`${reg.host}/private/hello:nope`);
    expect(tag.json().error.code).toBe('IMAGE_SOURCE_NOT_FOUND');
    // Each import's auth file is gone once it ends.
    expect(authDirs()).toEqual([]);
  }, 120_000);

  it('keeps credentials per project: another project has none', async () => {
    expect(
      (await inject({ method: 'POST', url: '/v1/projects', payload: { name: 'other' } })).statusCode,
    ).toBe(201);
    const other = await importRef(ref, 'other');
    expect(other.json().error.code).toBe('REGISTRY_AUTH_FAILED');
    const listed = await inject({ method: 'GET', url: '/v1/registries?project=other' });
    expect(listed.json().items).toEqual([]);
  }, 60_000);

  it('never shows the password: not in the database, the answers or the logs', async () => {
    const listed = await inject({ method: 'GET', url: '/v1/registries' });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toEqual([
      expect.objectContaining({ registry: reg.host, username, project: 'default' }),
    ]);
    expect(Object.keys(listed.json().items[0]).sort()).toEqual([
      'createdAt',
      'project',
      'registry',
      'updatedAt',
      'username',
    ]);
    const rows = await api.p.manager.db.query<Record<string, string>>('SELECT * FROM registry_credentials');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.password_sealed).toMatch(/^v1:/);
    const basic = Buffer.from(`${username}:${password}`).toString('base64');
    for (const text of [JSON.stringify(rows), listed.body, capture.lines.join('')]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(basic);
    }
    expect(capture.lines.join('')).toContain('"status":401');
  });

  it('validates the host and forgets credentials', async () => {
    const bad = await put('bad_host!', { username, password });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const del = await inject({ method: 'DELETE', url: `/v1/registries/${reg.host}` });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ registry: reg.host, username });
    const again = await inject({ method: 'DELETE', url: `/v1/registries/${reg.host}` });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('REGISTRY_CREDENTIAL_NOT_FOUND');
    expect(await api.count('registry_credentials')).toBe(0);
  });
});
