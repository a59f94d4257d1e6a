import { HearthError, newId } from '@hearth/contract';
import { and, asc, count, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { isUniqueViolation } from '../db/index.ts';
import { images, vms } from '../db/schema.ts';
import { Finder, outer, tableRows } from './lookup.ts';
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
  /** The owning project; null (or absent) for a global image (the built-ins). */
  project?: string | null;
  status?: 'pending' | 'ready';
}

/** Every read carries the VMs that use the image, so "in use" is never a second, racy query. */
const usedBy = sql<string[]>`COALESCE((SELECT array_agg(v.id ORDER BY v.id) FROM vms v
  WHERE v.image_id = ${outer(images.id)} OR v.kernel_id = ${outer(images.id)}), '{}')`;
const inUse = sql`EXISTS (SELECT 1 FROM vms v WHERE v.image_id = ${outer(images.id)} OR v.kernel_id = ${outer(images.id)})`;

const row = (img: NewImage) => ({
  id: newId('img'),
  name: img.name,
  kind: img.kind,
  format: img.format,
  arch: img.arch,
  size_bytes: img.sizeBytes,
  sha256: img.sha256,
  source: img.source,
  path: img.path,
  builtin: img.builtin,
  meta: img.meta,
  project: img.project ?? null,
});

const excluded = (col: string) => sql.raw(`EXCLUDED.${col}`);

export class ImageStore {
  private readonly find: Finder<ImageRow>;
  /** The same lookups without `used_by`, whose subquery reads every VM of a popular image. */
  private readonly plain: Finder<ImageRow>;

  constructor(private readonly db: Db) {
    const fields = { ...getTableColumns(images), used_by: usedBy };
    const none = (idOrName: string) => missing('image', idOrName);
    this.find = new Finder<ImageRow>(images, tableRows(this.db.orm, images, fields), none, true);
    this.plain = new Finder<ImageRow>(images, tableRows(this.db.orm, images), none, true);
  }

  /** Built-in images keep their id across restarts; content changes update the row in place. */
  async upsertByName(img: NewImage): Promise<ImageRow> {
    const rows = await this.db.orm
      .insert(images)
      .values(row(img))
      .onConflictDoUpdate({
        target: images.name,
        targetWhere: sql`project IS NULL`,
        set: {
          ...Object.fromEntries(
            ['kind', 'format', 'size_bytes', 'sha256', 'source', 'path', 'meta'].map((c) => [c, excluded(c)]),
          ),
          status: 'ready',
        },
      })
      .returning();
    return rows[0]!;
  }

  /** A new image; a taken name is IMAGE_NAME_TAKEN. */
  async insert(img: NewImage): Promise<ImageRow> {
    try {
      const rows = await this.db.orm
        .insert(images)
        .values({ ...row(img), status: img.status ?? 'ready' })
        .returning();
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
    const rows = await this.db.orm
      .update(images)
      .set({
        status: 'ready',
        path: content.path,
        size_bytes: content.sizeBytes,
        meta: sql`${images.meta} || ${JSON.stringify(content.meta)}::jsonb`,
      })
      .where(and(eq(images.id, id), eq(images.status, 'pending')))
      .returning();
    return rows[0] ? { ...rows[0], used_by: [] } : null;
  }

  /** Deletes the row unless a VM references it (checked in the same statement). */
  async deleteUnused(id: string): Promise<boolean> {
    const rows = await this.db.orm
      .delete(images)
      .where(and(eq(images.id, id), sql`NOT ${inUse}`))
      .returning({ id: images.id });
    return rows.length > 0;
  }

  /** By id or name among the project's images and the global ones (a user lookup). */
  async get(idOrName: string, project: string): Promise<ImageRow | null> {
    const img = await this.find.get(idOrName, project);
    return img && (await this.usedIn([img], project))[0]!;
  }

  /**
   * `used_by` as a user of `project` may see it: a global image is used by VMs of every project,
   * and only the project's own are named.
   */
  private async usedIn(rows: ImageRow[], project: string): Promise<ImageRow[]> {
    const ids = [...new Set(rows.flatMap((r) => (r.project === null ? (r.used_by ?? []) : [])))];
    if (!ids.length) return rows;
    const mine = await this.db.orm
      .select({ id: vms.id })
      .from(vms)
      .where(and(inArray(vms.id, ids), eq(vms.project, project)));
    const seen = new Set(mine.map((v) => v.id));
    return rows.map((r) =>
      r.project === null ? { ...r, used_by: (r.used_by ?? []).filter((id) => seen.has(id)) } : r,
    );
  }

  /**
   * Like `get`, without `used_by` (left undefined): for a VM about to use the image, where who
   * else uses it does not matter and reading it would cost one row per VM on the image.
   */
  getForUse(idOrName: string, project: string): Promise<ImageRow | null> {
    return this.plain.get(idOrName, project);
  }

  /**
   * Two `getForUse` lookups (a VM's image and kernel) in one statement, with the same precedence:
   * an id match first, then the project's image over a global one of the same name.
   */
  async getPairForUse(a: string, b: string, project: string): Promise<[ImageRow | null, ImageRow | null]> {
    const keys = [...new Set([a, b])];
    const rows: ImageRow[] = await this.db.orm
      .select()
      .from(images)
      .where(
        and(
          sql`(${inArray(images.id, keys)} OR ${inArray(images.name, keys)})`,
          sql`(${images.project} = ${project} OR ${images.project} IS NULL)`,
        ),
      );
    const pick = (key: string) =>
      rows.find((r) => r.id === key) ??
      rows.find((r) => r.name === key && r.project !== null) ??
      rows.find((r) => r.name === key) ??
      null;
    return [pick(a), pick(b)];
  }

  async requireForUse(idOrName: string, project: string, field = 'image'): Promise<ImageRow> {
    const img = await this.plain.get(idOrName, project);
    if (!img) throw missing(field, idOrName);
    return img;
  }

  /** By id or name among the global images only (built-ins, runtime images). */
  async getGlobal(idOrName: string): Promise<ImageRow | null> {
    const img = await this.find.get(idOrName, '');
    return img && img.project === null ? img : null;
  }

  async requireGlobal(idOrName: string, field = 'image'): Promise<ImageRow> {
    const img = await this.getGlobal(idOrName);
    if (!img) throw missing(field, idOrName);
    return img;
  }

  /** By id in any project: internal paths only (agents fetching content, a VM's own images). */
  getUnscoped(id: string): Promise<ImageRow | null> {
    return this.find.getUnscoped(id);
  }

  async requireUnscoped(id: string): Promise<ImageRow> {
    const img = await this.find.getUnscoped(id);
    if (!img) throw missing('image', id);
    return img;
  }

  /** A registry import already done at this manifest digest, visible in `project`. */
  async findByMeta(key: string, value: string, project: string): Promise<ImageRow | null> {
    const where = and(
      this.find.inProject(project),
      eq(images.status, 'ready'),
      sql`${images.meta}->>${key} = ${value}`,
    );
    return (await this.find.all([asc(images.id)], where, 1))[0] ?? null;
  }

  /** A ready image of `kind` with this content, in `project` or global (VM import: images by sha256). */
  async findBySha(sha256: string, kind: string, project: string): Promise<ImageRow | null> {
    const where = and(
      this.find.inProject(project),
      eq(images.status, 'ready'),
      eq(images.kind, kind as never),
      eq(images.sha256, sha256),
    );
    return (await this.find.all([asc(images.id)], where, 1))[0] ?? null;
  }

  /** The newest ready OCI import of `canonical` (a registry reference) in `project` or global. */
  async findByOciRef(canonical: string, project: string): Promise<ImageRow | null> {
    const where = and(
      this.find.inProject(project),
      eq(images.status, 'ready'),
      sql`${images.meta}->'oci'->>'ref' = ${canonical}`,
    );
    return (await this.find.all([desc(images.id)], where, 1))[0] ?? null;
  }

  /** Other image rows that share a content file (content-addressed: same sha, same file). */
  async countByPath(path: string): Promise<number> {
    const rows = await this.db.orm.select({ n: count() }).from(images).where(eq(images.path, path));
    return Number(rows[0]?.n ?? 0);
  }

  async require(idOrName: string, project: string, field = 'image'): Promise<ImageRow> {
    const img = await this.get(idOrName, project);
    if (!img) throw missing(field, idOrName);
    return img;
  }

  /** The project's images and the global ones. */
  async list(project: string, limit: number, cursor?: string) {
    const page = await this.find.page({ limit, cursor }, [this.find.inProject(project)]);
    return { ...page, items: await this.usedIn(page.items, project) };
  }
}

function missing(field: string, idOrName: string): HearthError {
  return new HearthError(
    'IMAGE_NOT_FOUND',
    `Finding ${field} "${idOrName}" failed: no image has that id or name.`,
    {
      fields: { [field]: ['unknown image'] },
    },
  );
}
