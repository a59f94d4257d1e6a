import { HearthError, newId } from '@hearth/contract';
import type { Db } from '../db/index.ts';
import { isUniqueViolation } from '../db/index.ts';
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
  status?: 'pending' | 'ready';
}

/** Every read carries the VMs that use the image, so "in use" is never a second, racy query. */
const SELECT = `SELECT i.*, COALESCE((SELECT array_agg(v.id ORDER BY v.id) FROM vms v
  WHERE v.image_id = i.id OR v.kernel_id = i.id), '{}') AS used_by FROM images i`;

/** $1…$11 of both image INSERTs, in column order: id, name, kind, format, arch, size, sha256, source, path, builtin, meta. */
function imageParams(img: NewImage): unknown[] {
  return [
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
  ];
}

export class ImageStore {
  constructor(private readonly db: Db) {}

  /** Built-in images keep their id across restarts; content changes update the row in place. */
  async upsertByName(img: NewImage): Promise<ImageRow> {
    const rows = await this.db.query<ImageRow>(
      `INSERT INTO images (id, name, kind, format, arch, size_bytes, sha256, source, path, builtin, meta)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb)
       ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, format = EXCLUDED.format, size_bytes = EXCLUDED.size_bytes,
         sha256 = EXCLUDED.sha256, source = EXCLUDED.source, path = EXCLUDED.path, meta = EXCLUDED.meta,
         status = 'ready'
       RETURNING *`,
      imageParams(img),
    );
    return rows[0]!;
  }

  /** A new image; a taken name is IMAGE_NAME_TAKEN. */
  async insert(img: NewImage): Promise<ImageRow> {
    try {
      const rows = await this.db.query<ImageRow>(
        `INSERT INTO images (id, name, kind, format, arch, size_bytes, sha256, source, path, builtin, meta, status)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::jsonb,$12) RETURNING *`,
        [...imageParams(img), img.status ?? 'ready'],
      );
      return { ...rows[0]!, used_by: [] };
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new HearthError(
          'IMAGE_NAME_TAKEN',
          `Registering image "${img.name}" failed: an image with that name exists.`,
          { fields: { name: ['already taken'] } },
        );
      }
      throw e;
    }
  }

  /** Completes a pending upload; null when it was no longer pending (a concurrent upload won). */
  async markReady(
    id: string,
    content: { path: string; sizeBytes: number; meta: Record<string, unknown> },
  ): Promise<ImageRow | null> {
    const rows = await this.db.query<ImageRow>(
      `UPDATE images SET status = 'ready', path = $2, size_bytes = $3, meta = meta || $4::jsonb
       WHERE id = $1 AND status = 'pending' RETURNING *`,
      [id, content.path, content.sizeBytes, JSON.stringify(content.meta)],
    );
    return rows[0] ? { ...rows[0], used_by: [] } : null;
  }

  /** Deletes the row unless a VM references it (checked in the same statement). */
  async deleteUnused(id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `DELETE FROM images i WHERE i.id = $1
         AND NOT EXISTS (SELECT 1 FROM vms v WHERE v.image_id = i.id OR v.kernel_id = i.id) RETURNING i.id`,
      [id],
    );
    return rows.length > 0;
  }

  async get(idOrName: string): Promise<ImageRow | null> {
    const rows = await this.db.query<ImageRow>(`${SELECT} WHERE i.id = $1 OR i.name = $1 LIMIT 1`, [
      idOrName,
    ]);
    return rows[0] ?? null;
  }

  /** A registry import already done at this manifest digest. */
  async findByMeta(key: string, value: string): Promise<ImageRow | null> {
    const rows = await this.db.query<ImageRow>(
      `${SELECT} WHERE i.status = 'ready' AND i.meta->>$1 = $2 ORDER BY i.id LIMIT 1`,
      [key, value],
    );
    return rows[0] ?? null;
  }

  /** Other image rows that share a content file (content-addressed: same sha, same file). */
  async countByPath(path: string): Promise<number> {
    const rows = await this.db.query<{ n: number | string }>(
      'SELECT count(*) AS n FROM images WHERE path = $1',
      [path],
    );
    return Number(rows[0]?.n ?? 0);
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
    const rows = await this.db.query<ImageRow>(`${SELECT} WHERE i.id > $1 ORDER BY i.id LIMIT $2`, [
      after ?? '',
      limit + 1,
    ]);
    return pageResult(rows, limit, (r) => r.id);
  }
}
