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
  /**
   * Listed only: their files stay on their hosts (docs/backups.md § What is included). `sha256`
   * is read by the host at backup time; null with `sha256Reason` when it was not (attached to a
   * running VM, host unreachable).
   */
  volumes: {
    id: string;
    name: string;
    host: string;
    vm: string | null;
    sizeMib: number;
    sha256: string | null;
    sha256Reason: string | null;
  }[];
  /**
   * `files`: sha256 of each file of the snapshot's directory on its host, by name; `sha256`: the
   * digest of that list (store/snapshots.ts filesDigest). Null with `sha256Reason` when unknown.
   */
  snapshots: {
    id: string;
    name: string;
    host: string;
    vm: string | null;
    sizeBytes: number;
    volumes: string[];
    sha256: string | null;
    files: Record<string, string> | null;
    sha256Reason: string | null;
  }[];
  vms: number;
}

export const MANIFEST = 'manifest.json';
