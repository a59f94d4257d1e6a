import { HearthError, newId } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { decodeCursor, pageResult } from './page.ts';
import type { ImageRow } from './mappers.ts';

export interface NewImage {
  name: string;
  kind: 'kernel' | 'rootfs' | 'initrd';
  format: string;
  arch: string;
  sizeBytes: number;
  sha256: string;
  source: string;
  path: string;
  builtin: boolean;
  meta: Record<string, unknown>;
}

export class ImageStore {
  constructor(private readonly db: Db) {}

  /** Built-in images keep their id across restarts; content changes update the row in place. */
  async upsertByName(img: NewImage): Promise<ImageRow> {
    const rows = await this.db.query<ImageRow>(
      `INSERT INTO images (id, name, kind, format, arch, size_bytes, sha256, source, path, builtin, meta)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb)
       ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, format = EXCLUDED.format, size_bytes = EXCLUDED.size_bytes,
         sha256 = EXCLUDED.sha256, source = EXCLUDED.source, path = EXCLUDED.path, meta = EXCLUDED.meta
       RETURNING *`,
      [
        newId('img'),
        img.name,
        img.kind,
        img.format,
        img.arch,
        img.sizeBytes,
        img.sha256,
        img.source,
        img.path,
        img.builtin,
        JSON.stringify(img.meta),
      ],
    );
    return rows[0]!;
  }

  async get(idOrName: string): Promise<ImageRow | null> {
    const rows = await this.db.query<ImageRow>('SELECT * FROM images WHERE id = $1 OR name = $1 LIMIT 1', [
      idOrName,
    ]);
    return rows[0] ?? null;
  }

  async require(idOrName: string, field = 'image'): Promise<ImageRow> {
    const img = await this.get(idOrName);
    if (!img) {
      throw new HearthError(
        'IMAGE_NOT_FOUND',
        `Finding ${field} "${idOrName}" failed: no image has that id or name.`,
        {
          fields: { [field]: ['unknown image'] },
        },
      );
    }
    return img;
  }

  async list(limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    const rows = await this.db.query<ImageRow>('SELECT * FROM images WHERE id > $1 ORDER BY id LIMIT $2', [
      after ?? '',
      limit + 1,
    ]);
    return pageResult(rows, limit, (r) => r.id);
  }
}
