import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { HearthError, type CreateImageBody, type ImportEvent, type ImportImageBody } from '@hearth/contract';
import type { ImageRow } from '../store/mappers.ts';
import type { NewImage } from '../store/images.ts';
import type { Stores } from '../store/index.ts';
import type { ContentStore, Written } from './content-store.ts';
import { detectInit } from './ext4.ts';
import { checkArtifactType } from './artifact-type.ts';
import { isLoopbackRegistry, nameFromRef, parseOciRef, type OciRef } from './oci-ref.ts';
import { pullAndBuild, resolveDigest, type OciOptions } from './oci-import.ts';
import type { RegistryCredentials } from './registry-auth.ts';
import { checkImportUrl, downloadUrl } from './url-import.ts';
import { checkHostBeforeConnect, type ImportAllowList } from './egress-guard.ts';
import { RuntimeImages } from './runtimes.ts';
import { unpackDiskImage } from './disk-image.ts';
import { dropCarriedKernel, dropCarriedOf, registerCarriedKernel } from './carried-kernel-images.ts';
import { DistroImages } from './distros.ts';
import { defaultName, hostImportPath } from './import-source.ts';
import { OnDemandImages } from './on-demand.ts';
import { discardIfUnused } from './discard-unused.ts';

/** Formats a rootfs import may declare for a whole-disk image; it is stored as ext4. */
const DISK_FORMATS = new Set(['ext4', 'raw', 'qcow2']);

export type Progress = (e: Extract<ImportEvent, { type: 'progress' }>) => void;

export interface ImageServiceOptions {
  /** Host path imports read any file the manager can; off unless the operator says so. */
  allowHostPathImport: boolean;
  /** Registries reached over plain HTTP / unverified TLS besides loopback ones (host:port). */
  insecureRegistries: string[];
  maxUploadBytes: number;
  /** Destinations on special addresses (loopback, private, …) imports may reach anyway. */
  importAllow: ImportAllowList;
  /** URL imports give up after this long without progress (connect, headers, body); default 30 s. */
  downloadIdleMs?: number;
  /** A project's private registry credentials, used by its OCI imports; absent: none. */
  credentials?: RegistryCredentials;
  log: Logger;
}

/** The image registry's write side: uploads, imports (URL, host path, OCI), runtimes, deletes. */
export class ImageService {
  private readonly inflight = new Map<string, Promise<{ row: ImageRow; cached: boolean }>>();
  readonly runtimes: RuntimeImages;
  readonly distros: DistroImages;

  constructor(
    private readonly stores: Stores,
    private readonly files: ContentStore,
    private readonly options: ImageServiceOptions,
  ) {
    const onDemand = new OnDemandImages(stores, files, options.log);
    this.runtimes = new RuntimeImages(onDemand);
    this.distros = new DistroImages(onDemand);
  }

  /** Declares an image of `project` (its content is uploaded next). */
  async create(body: CreateImageBody, project: string): Promise<ImageRow> {
    await this.nameFree(body.name, project, `Registering image "${body.name}"`);
    return this.stores.images.insert({
      project,
      name: body.name,
      kind: body.kind,
      format: body.format,
      arch: body.arch,
      sizeBytes: body.sizeBytes ?? 0,
      sha256: body.sha256,
      source: 'upload',
      path: '',
      builtin: false,
      status: 'pending',
      meta: {},
    });
  }

  /** Streams the body to disk, verifies it, and only then makes the image ready. */
  async upload(idOrName: string, project: string, body: Readable): Promise<ImageRow> {
    const img = await this.stores.images.require(idOrName, project);
    if (img.status !== 'pending') {
      body.resume();
      throw new HearthError(
        'IMAGE_NOT_PENDING',
        `Uploading image "${img.name}" failed: it already has its content (sha256 ${img.sha256.slice(0, 12)}…).`,
      );
    }
    const what = `Uploading image "${img.name}"`;
    const w = await this.files.write(body, { what, limit: this.options.maxUploadBytes });
    try {
      const declared = Number(img.size_bytes);
      await this.verify(w, { what, sha256: img.sha256, sizeBytes: declared || undefined });
      const meta = await this.checkFormat(w.tmp, img.kind, img.format, what);
      const path = await this.files.commit(w, img.format);
      const ready = await this.stores.images.markReady(img.id, { path, sizeBytes: w.sizeBytes, meta });
      if (!ready) {
        throw new HearthError('IMAGE_NOT_PENDING', `${what} failed: another upload completed first.`);
      }
      return ready;
    } finally {
      await rm(w.tmp, { force: true });
    }
  }

  private async verify(w: Written, want: { what: string; sha256?: string; sizeBytes?: number }) {
    if (want.sizeBytes !== undefined && w.sizeBytes !== want.sizeBytes) {
      throw new HearthError(
        'IMAGE_CHECKSUM_MISMATCH',
        `${want.what} failed: ${w.sizeBytes} bytes arrived, ${want.sizeBytes} were declared; nothing was kept.`,
        { detail: { declaredBytes: want.sizeBytes, receivedBytes: w.sizeBytes } },
      );
    }
    if (want.sha256 && w.sha256 !== want.sha256) {
      throw new HearthError(
        'IMAGE_CHECKSUM_MISMATCH',
        `${want.what} failed: the content hashes to sha256 ${w.sha256}, not the declared ${want.sha256}; nothing was kept.`,
        { detail: { declared: want.sha256, actual: w.sha256 } },
      );
    }
  }

  /** Content must be what its kind says (kernel, initrd, ext4 rootfs); returns meta to keep. */
  private async checkFormat(
    file: string,
    kind: string,
    format: string,
    what: string,
  ): Promise<Record<string, unknown>> {
    await checkArtifactType(file, kind, format, what);
    return kind === 'rootfs' ? { init: await detectInit(file) } : {};
  }

  /**
   * Imports into `project` from a registry, a URL or a host path; registry imports are reused by
   * digest within the project (and from the global images).
   */
  async import(
    body: ImportImageBody,
    project: string,
    progress: Progress,
  ): Promise<{ row: ImageRow; cached: boolean }> {
    const source =
      body.source ?? (/^https?:\/\//.test(body.ref) ? 'url' : body.ref.startsWith('/') ? 'path' : 'oci');
    if (source === 'oci') return this.importOci(body, project, progress);
    const what = `Importing ${body.ref}`;
    const kind = body.kind;
    const format = body.format ?? (kind === 'rootfs' ? 'ext4' : kind === 'kernel' ? 'elf' : 'cpio.gz');
    if (source === 'url') checkImportUrl(body.ref, what);
    const name = body.name ?? defaultName(body.ref);
    await this.nameFree(name, project, what);
    let w: Written;
    let fromHost: string | null = null;
    if (source === 'url') {
      w = await downloadUrl(body.ref, this.files, {
        what,
        limit: this.options.maxUploadBytes,
        progress,
        allow: this.options.importAllow,
        ...(this.options.downloadIdleMs ? { idleMs: this.options.downloadIdleMs } : {}),
      });
    } else {
      fromHost = await hostImportPath(body.ref, this.options.allowHostPathImport, what);
      progress({ type: 'progress', phase: 'verify', message: `hashing ${fromHost}` });
      w = await this.files.adopt(fromHost);
    }
    let disk: Awaited<ReturnType<typeof unpackDiskImage>> = null;
    const cleanup = async () => {
      if (!fromHost) await rm(w.tmp, { force: true });
      if (disk) {
        const k = disk.kernel;
        await Promise.all([disk.ext4, k?.file, k?.initrd?.file].map((f) => f && rm(f, { force: true })));
      }
    };
    try {
      await this.verify(w, { what, sha256: body.sha256 });
      // A whole-disk image (raw or qcow2, GPT or MBR) is stored as the ext4 of its root partition.
      if (kind === 'rootfs') disk = await unpackDiskImage(w.tmp, this.files.tmpPath('disk'), what, progress);
      const content = disk ? await this.files.adopt(disk.ext4) : w;
      const stored = disk || (kind === 'rootfs' && DISK_FORMATS.has(format)) ? 'ext4' : format;
      const meta: Record<string, unknown> = {
        ...(await this.checkFormat(content.tmp, kind, stored, what)),
        ...(disk ? { disk: disk.meta } : {}),
      };
      progress({
        type: 'progress',
        phase: 'store',
        message: `storing sha256 ${content.sha256.slice(0, 12)}…`,
      });
      const path = disk
        ? await this.files.commit(content, stored)
        : fromHost
          ? await this.files.ingest(fromHost, w.sha256, format)
          : await this.files.commit(w, format);
      // The disk's own kernel: its VMs boot it where the VMM can (docs/decisions/0044).
      const carried = disk?.kernel
        ? await registerCarriedKernel(
            { stores: this.stores, files: this.files, register: (i, x) => this.register(i, x) },
            disk.kernel,
            { name, project, source: `${source}:${body.ref}` },
          ).catch(async (e: unknown) => {
            await discardIfUnused({ stores: this.stores, files: this.files }, path);
            throw e;
          })
        : null;
      if (carried) meta.kernel = carried.kernel.id;
      const row = await this.register(
        {
          name,
          kind,
          format: stored,
          arch: 'x86_64',
          sizeBytes: content.sizeBytes,
          sha256: content.sha256,
          path,
          builtin: false,
          project,
        },
        { source: `${source}:${body.ref}`, meta },
      ).catch(async (e: unknown) => {
        if (carried) await dropCarriedKernel({ stores: this.stores, files: this.files }, carried.kernel);
        throw e;
      });
      return { row, cached: false };
    } finally {
      await cleanup();
    }
  }

  /** A project's image never shadows a global one of the same name. */
  private async nameFree(name: string, project: string, what: string): Promise<void> {
    if (await this.stores.images.get(name, project)) {
      throw new HearthError('IMAGE_NAME_TAKEN', `${what} failed: an image named "${name}" exists.`, {
        fields: { name: ['already taken'] },
      });
    }
  }

  /** Inserts the record; a failed insert removes content no other record uses. */
  private async register(
    img: Omit<NewImage, 'source' | 'meta'>,
    extra: { source: string; meta: Record<string, unknown> },
  ): Promise<ImageRow> {
    try {
      return await this.stores.images.insert({ ...img, ...extra });
    } catch (e) {
      await discardIfUnused({ stores: this.stores, files: this.files }, img.path);
      throw e;
    }
  }

  private async importOci(
    body: ImportImageBody,
    project: string,
    progress: Progress,
  ): Promise<{ row: ImageRow; cached: boolean }> {
    const ref = parseOciRef(body.ref);
    if (!ref) {
      throw new HearthError(
        'VALIDATION_FAILED',
        `Importing "${body.ref}" failed: it is not an OCI reference.`,
        {
          fields: { ref: ['expected name[:tag][@sha256:digest], e.g. node:22-alpine'] },
        },
      );
    }
    await this.checkRegistry(ref.registry, `Importing ${ref.canonical}`);
    const insecure =
      isLoopbackRegistry(ref.registry) || this.options.insecureRegistries.includes(ref.registry);
    const egress = {
      allow: this.options.importAllow,
      what: `Importing ${ref.canonical}`,
      log: this.options.log,
    };
    const base = { insecure, onProgress: progress, egress };
    const credentials = this.options.credentials;
    if (!credentials) return this.importOciWith(ref, body, project, progress, base);
    return credentials.withLogin(project, ref.registry, (login) =>
      this.importOciWith(ref, body, project, progress, { ...base, login }),
    );
  }

  /** Resolves, pulls and registers `ref` with the options (and registry login) of one import. */
  private async importOciWith(
    ref: OciRef,
    body: ImportImageBody,
    project: string,
    progress: Progress,
    opts: OciOptions,
  ): Promise<{ row: ImageRow; cached: boolean }> {
    const digest = await resolveDigest(ref, opts);
    const hit = await this.stores.images.findByMeta('ociDigest', digest, project);
    if (hit) {
      progress({ type: 'progress', phase: 'resolve', message: `already imported as ${hit.name}` });
      return { row: hit, cached: true };
    }
    // Two imports of the same digest into one project share one pull.
    const key = `${project}/${digest}`;
    const running = this.inflight.get(key);
    if (running) return running.then((r) => ({ ...r, cached: true }));
    const p = (async () => {
      const work = this.files.tmpPath('oci');
      try {
        const built = await pullAndBuild(ref, digest, work, opts);
        progress({ type: 'progress', phase: 'store', message: 'hashing and storing the ext4 image' });
        const w = await this.files.adopt(built.ext4);
        const path = await this.files.commit(w, 'ext4');
        let name = body.name ?? nameFromRef(ref);
        // The tag moved to new content: keep the old import, name the new one by its digest.
        if (!body.name && (await this.stores.images.get(name, project)))
          name = `${name}-${digest.slice(7, 19)}`;
        const row = await this.register(
          {
            name,
            kind: 'rootfs',
            format: 'ext4',
            arch: 'x86_64',
            sizeBytes: w.sizeBytes,
            sha256: w.sha256,
            path,
            builtin: false,
            project,
          },
          {
            source: `oci:${ref.canonical}`,
            meta: { oci: built.oci, ociDigest: digest, init: 'hearth-guest' },
          },
        );
        return { row, cached: false };
      } finally {
        await this.files.discard(work);
      }
    })();
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  /**
   * Refuses a registry host the guard refuses before skopeo even starts (Docker Hub's API lives
   * on registry-1.docker.io); skopeo's own connections then go through the egress proxy.
   */
  private async checkRegistry(registry: string, what: string): Promise<void> {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(registry);
    if (!m) return;
    const host = m[1] === 'docker.io' ? 'registry-1.docker.io' : m[1]!;
    await checkHostBeforeConnect(this.options.importAllow, what, host, Number(m[2] ?? 443));
  }

  /** Deletes an image of `project`; a global one only when `assertAdmin` lets it. */
  async delete(idOrName: string, project: string, assertAdmin: () => Promise<unknown>): Promise<ImageRow> {
    const img = await this.stores.images.require(idOrName, project);
    if (img.builtin) {
      throw new HearthError(
        'IMAGE_IN_USE',
        `Deleting image "${img.name}" failed: built-in images are never deleted.`,
      );
    }
    if (img.project === null) await assertAdmin();
    const bootsWithIt =
      img.kind === 'initrd' ? await this.stores.images.findByMeta('initrd', img.id, project) : null;
    if (bootsWithIt)
      throw new HearthError(
        'IMAGE_IN_USE',
        `Deleting image "${img.name}" failed: kernel "${bootsWithIt.name}" boots with it; delete that kernel first.`,
      );
    // Every VM using it, whichever project (the lookup above names only the project's own).
    const all = (await this.stores.images.getUnscoped(img.id)) ?? img;
    const inUse = (usedBy: string[]) =>
      new HearthError(
        'IMAGE_IN_USE',
        `Deleting image "${img.name}" failed: ${usedBy.length || 'some'} VM(s) use it (${usedBy.join(', ')}).`,
        { detail: { usedBy } },
      );
    if (all.used_by?.length) throw inUse(all.used_by);
    if (!(await this.stores.images.deleteUnused(img.id))) throw inUse([]);
    await discardIfUnused({ stores: this.stores, files: this.files }, img.path);
    await dropCarriedOf({ stores: this.stores, files: this.files }, img);
    return img;
  }
}
