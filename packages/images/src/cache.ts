export const DEFAULT_CACHE_DIR = '/var/cache/hearth';

/** Where built artefacts live, outside any checkout, keyed by the hash of their recipe. */
export function cacheDir(): string {
  return process.env.HEARTH_CACHE_DIR ?? DEFAULT_CACHE_DIR;
}
