import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { CLI_ENV, cli } from '../../../../test/helpers/proc.ts';

// `hearth create --user-data FILE` sends the file as the VM's cloud-init user data; the record
// keeps it for the boot (test/e2e/debian-images.test.ts runs user data on a real VM).
describe('hearth create --user-data', () => {
  const api = useApiPlatform();
  const hearth = (args: string[]) =>
    cli(args, { HEARTH_URL: api.p.manager.url, HEARTH_TOKEN: api.p.manager.adminToken, ...CLI_ENV });
  const dir = mkdtemp(join(tmpdir(), 'hearth-userdata-'));
  afterAll(async () => rm(await dir, { recursive: true, force: true }));
  const stored = async (name: string) =>
    (
      await api.p.manager.db.query<{ guest: { userData?: string } | null }>(
        'SELECT guest FROM vms WHERE name = $1',
        [name],
      )
    )[0]?.guest?.userData;

  it('records the file as it is', async () => {
    const file = join(await dir, 'user-data.yaml');
    const data = '#cloud-config\nruncmd:\n  - [touch, /var/tmp/ran]\n';
    await writeFile(file, data);
    const r = await hearth(['create', '--name', 'ud-file', '--no-start', '--user-data', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(await stored('ud-file')).toBe(data);
  });

  it('refuses a file it cannot read as a usage error', async () => {
    const r = await hearth(['create', '--no-start', '--user-data', join(await dir, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--user-data .* is not a readable file/);
  });
});
