import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** What `manifest.json` at the root of a backup archive says (docs/backups.md). */
export interface BackupManifest {
  format: 'hearth-backup';
  version: 1;
  createdAt: string;
  /** The data directory it was taken from: image paths in the database are rewritten from it. */
  dataDir: string;
  database: { kind: 'pglite' | 'postgres'; file: string; sha256: string };
  /** Every file in the archive but the manifest, by path inside it. */
  files: { path: string; sha256: string; sizeBytes: number }[];
  /** Listed from the database; image files are in the archive under `images/`. */
  images: { id: string; name: string; sha256: string; sizeBytes: number; file: string | null }[];
  /** Listed only: their files stay on their hosts (docs/backups.md § What is included). */
  volumes: { id: string; name: string; host: string; vm: string | null; sizeMib: number }[];
  snapshots: {
    id: string;
    name: string;
    host: string;
    vm: string | null;
    sizeBytes: number;
    volumes: string[];
  }[];
  vms: number;
}

export const MANIFEST = 'manifest.json';

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')));
  });
}
