// Builds the OCI test images into the cache; used by the setup script.
import { ensureTestOciImage, TEST_OCI_IMAGES, type TestOciImage } from './test-oci.ts';

for (const name of Object.keys(TEST_OCI_IMAGES) as TestOciImage[]) {
  const t0 = Date.now();
  const layout = await ensureTestOciImage(name);
  console.log(`oci     test-${name.padEnd(11)} ${layout} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
