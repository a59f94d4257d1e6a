import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { BuiltinArtifact } from '@hearth/images';
import { useApiPlatform } from '../../../../test/helpers/api-harness.ts';
import { ContentStore } from './content-store.ts';
import { OnDemandImages, type OnDemandRecipe } from './on-demand.ts';

describe('images built on first use', () => {
  const api = useApiPlatform();
  const dir = mkdtemp(join(tmpdir(), 'hearth-ondemand-'));
  afterAll(async () => rm(await dir, { recursive: true, force: true }));
  const images = async () => {
    const files = new ContentStore(join(await dir, 'store'));
    await files.init();
    return new OnDemandImages(api.p.manager.stores, files, pino({ level: 'silent' }));
  };

  const recipe = (build: () => Promise<BuiltinArtifact>): OnDemandRecipe => ({
    what: 'the test image',
    build,
    source: (art) => `test recipe (${art.path})`,
    init: 'systemd',
  });

  it('builds once for asks made meanwhile, registers a built-in, and finds it afterwards', async () => {
    const art = join(await dir, 'rootfs.ext4');
    await writeFile(art, 'not really ext4, only bytes to store');
    let builds = 0;
    const r = recipe(async () => {
      builds++;
      return { name: 'x', kind: 'rootfs', format: 'ext4', path: art, meta: { version: '1' } };
    });
    const od = await images();
    const [a, b] = await Promise.all([od.get('ondemand-a', r), od.get('ondemand-a', r)]);
    expect(builds).toBe(1);
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({ name: 'ondemand-a', builtin: true, project: null, format: 'ext4' });
    expect(a.meta).toMatchObject({ version: '1', init: 'systemd' });
    // A later ask (another manager process, say) finds the record without building.
    expect((await (await images()).get('ondemand-a', r)).id).toBe(a.id);
    expect(builds).toBe(1);
  });

  it('turns a failed build into IMAGE_BUILD_FAILED with the output, and tries again on the next ask', async () => {
    const od = await images();
    const failing = recipe(async () => {
      throw new Error('mmdebstrap: E: cannot reach the mirror\nmore output');
    });
    await expect(od.get('ondemand-b', failing)).rejects.toMatchObject({
      code: 'IMAGE_BUILD_FAILED',
      message: 'Building the test image failed: mmdebstrap: E: cannot reach the mirror',
      detail: { output: expect.stringContaining('more output') },
    });
    await expect(od.get('ondemand-b', failing)).rejects.toMatchObject({ code: 'IMAGE_BUILD_FAILED' });
  });
});
