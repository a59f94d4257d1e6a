/**
 * The version `hearth --version` prints, the manager reports and the release tarball carries
 * (scripts/release.mjs reads it from here).
 */
export const HEARTH_VERSION = '0.1.0';
