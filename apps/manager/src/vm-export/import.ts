import { fromIterable } from '@hearth/contract/streams';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  HearthError,
  VM_ARCHIVE_FORMAT,
  VM_ARCHIVE_MANIFEST,
  VM_ARCHIVE_VERSIONS_READ,
  VmArchiveManifest,
  type ImportVmQuery,
  type Vm,
  type VmArchiveFile,
} from '@hearth/contract';
import type { ImageService } from '../images/image-service.ts';
import type { ImageRow } from '../store/mappers.ts';
import type { Stores } from '../store/index.ts';
import type { VmService } from '../services/vms/vm-service.ts';
import { checkSum } from '../services/vms/import-memory.ts';
import { readMembers, skip, TarError, type Member } from './tar.ts';

export interface ImportDeps {
  stores: Stores;
  images: ImageService;
  vmService: VmService;
  log: Logger;
}

const invalid = (why: string, detail?: Record<string, unknown>) =>
  new HearthError('VM_ARCHIVE_INVALID', `Importing failed: ${why}.`, detail ? { detail } : {});

/** The manifest: first member, JSON, our format, a version we read, every field as it should be. */
export async function readManifest(first: Member | undefined): Promise<VmArchiveManifest> {
  if (!first || first.path !== VM_ARCHIVE_MANIFEST)
    throw invalid(`the archive does not start with ${VM_ARCHIVE_MANIFEST}`);
  if (first.size > 1024 * 1024) throw invalid(`${VM_ARCHIVE_MANIFEST} is larger than 1 MiB`);
  const parts: Buffer[] = [];
  for await (const c of first.body) parts.push(c);
  let raw: { format?: unknown; version?: unknown };
  try {
    raw = JSON.parse(Buffer.concat(parts).toString('utf8')) as typeof raw;
  } catch {
    throw invalid(`${VM_ARCHIVE_MANIFEST} is not JSON`);
  }
  if (raw?.format !== VM_ARCHIVE_FORMAT) throw invalid(`it is not a ${VM_ARCHIVE_FORMAT} archive`);
  if (typeof raw.version !== 'number' || !VM_ARCHIVE_VERSIONS_READ.includes(raw.version)) {
    throw new HearthError(
      'VM_ARCHIVE_VERSION_UNSUPPORTED',
      `Importing failed: the archive is ${VM_ARCHIVE_FORMAT} version ${String(raw.version)}; this manager reads versions ${VM_ARCHIVE_VERSIONS_READ.join(' and ')}.`,
      { detail: { version: raw.version, supported: [...VM_ARCHIVE_VERSIONS_READ] } },
    );
  }
  const parsed = VmArchiveManifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(
      `${VM_ARCHIVE_MANIFEST} is malformed at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  const m = parsed.data;
  const listed = new Set(m.files.map((f) => f.path));
  for (const need of [m.disk.file, m.image.file, m.memory?.file]) {
    if (need && !listed.has(need)) throw invalid(`${need} is not in the manifest's file list`);
  }
  return m;
}

/**
 * Reads a member to its end and checks it against its manifest entry (size first, then sha256 at
 * `ok()`). A member streamed on to a host (disk, memory) is hashed by the sender as it passes
 * (sendMember), so `hash: false` leaves it to that one pass.
 */
export function checked(m: Member, f: VmArchiveFile, hash = true): AsyncGenerator<Buffer> & { ok(): void } {
  if (m.size !== f.sizeBytes)
    throw invalid(`${f.path} holds ${m.size} bytes, the manifest says ${f.sizeBytes}`, { file: f.path });
  const h = hash ? createHash('sha256') : null;
  const gen = (async function* () {
    for await (const c of m.body) {
      h?.update(c);
      yield c;
    }
  })();
  return Object.assign(gen, {
    ok() {
      if (!h) throw new Error(`${f.path} was read without hashing: its sender checks it`);
      checkSum(f, h.digest('hex'));
    },
  });
}

/**
 * Reads a VM archive as it arrives and makes the VM (docs/backups.md § VM export): the manifest,
 * then the image (found here by sha256, else imported from the archive when it carries it), then
 * the disk, streamed on to the VM's host. Members in another order, or not in the manifest, are
 * refused; the memory snapshot, if any, is streamed on too and the VM resumes from it when the
 * archive records its devices (version 2) and the host can load it, else it is read and the VM
 * boots cold from its disk.
 */
export async function importArchive(
  d: ImportDeps,
  body: Readable,
  q: ImportVmQuery,
  project: string,
  actor: string,
): Promise<Vm> {
  const source = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const members = readMembers({ [Symbol.asyncIterator]: () => source });
  const next = async (): Promise<Member | undefined> => {
    try {
      return (await members.next()).value ?? undefined;
    } catch (e) {
      throw e instanceof TarError ? invalid(e.message) : e;
    }
  };
  try {
    const manifest = await readManifest(await next());
    const fileOf = (path: string) => manifest.files.find((f) => f.path === path)!;
    const kernel = await d.stores.images.findBySha(manifest.kernel.sha256, 'kernel', project);
    if (!kernel) throw missingImage('kernel', manifest.kernel);
    let image = await d.stores.images.findBySha(manifest.image.sha256, 'rootfs', project);
    if (!image && !manifest.image.file) throw missingImage('image', manifest.image);
    let m = await next();
    if (manifest.image.file) {
      if (m?.path !== manifest.image.file) throw invalid(`${manifest.image.file} is missing or out of order`);
      const body = checked(m, fileOf(m.path));
      if (image) {
        for await (const c of body) void c;
        body.ok();
      } else image = await importImage(d, manifest, body, project);
      m = await next();
    }
    if (m?.path !== manifest.disk.file) throw invalid(`${manifest.disk.file} is missing or out of order`);
    const disk = checked(m, fileOf(m.path), false);
    const memoryFile = manifest.memory?.file;
    // Asked for by the VM service only once the disk is through and the host can load it.
    const memory = memoryFile
      ? async () => {
          const mem = await next();
          if (mem?.path !== memoryFile) throw invalid(`${memoryFile} is missing or out of order`);
          return checked(mem, fileOf(mem.path), false);
        }
      : undefined;
    const vm = await d.vmService.import(
      {
        manifest,
        image: image!,
        kernel,
        name: q.name,
        project,
        host: q.host,
        start: q.start === 'true',
        // Checked against the manifest by the agent as it writes, and by the VM service as it passes.
        disk: (async function* () {
          try {
            yield* disk;
          } catch (e) {
            throw e instanceof TarError ? invalid(e.message) : e;
          }
        })(),
        memory,
      },
      actor,
    );
    // The rest (a memory snapshot not restored) is read to the end so the client sees its upload taken whole.
    for (let rest = await next(); rest; rest = await next()) await skip(rest);
    return vm;
  } catch (e) {
    discardRest(body, source);
    throw e;
  }
}

/** Most of a refused upload read (and dropped) so the client, still sending, gets the answer. */
const DISCARD_LIMIT = 1024 * 2 ** 20;

/**
 * A refused archive's unread rest: an HTTP/1.1 client reads the answer only once it has sent its
 * body, so the rest is read and dropped, in the background, up to DISCARD_LIMIT; past that the
 * connection is closed instead (the client then sees a reset, not the error).
 */
function discardRest(body: Readable, source: AsyncIterator<Buffer>): void {
  void (async () => {
    let n = 0;
    for (;;) {
      const r = await source.next();
      if (r.done) return;
      n += r.value.length;
      if (n > DISCARD_LIMIT) return void body.destroy();
    }
  })().catch(() => undefined);
}

function missingImage(kind: 'image' | 'kernel', ref: { name: string; sha256: string }): HearthError {
  return new HearthError(
    'VM_ARCHIVE_IMAGE_MISSING',
    `Importing failed: the VM boots ${kind} "${ref.name}" (sha256 ${ref.sha256}) and this manager has no ${kind} with that content${kind === 'image' ? '; export it with --with-image, or import that image first' : '; import that kernel first'}.`,
    { detail: { kind, name: ref.name, sha256: ref.sha256 } },
  );
}

/** The archive's image file as a new image of the project (its sha256 checked by the upload too). */
async function importImage(
  d: ImportDeps,
  manifest: VmArchiveManifest,
  body: AsyncGenerator<Buffer> & { ok(): void },
  project: string,
): Promise<ImageRow> {
  const ref = manifest.image;
  const taken = await d.stores.images.get(ref.name, project);
  const name = taken ? `${ref.name}-${ref.sha256.slice(0, 12)}` : ref.name;
  const pending = await d.images.create(
    {
      name,
      kind: 'rootfs',
      format: ref.format,
      arch: 'x86_64',
      sha256: ref.sha256,
      sizeBytes: ref.sizeBytes,
    },
    project,
  );
  try {
    const ready = await d.images.upload(pending.id, project, fromIterable(body));
    body.ok();
    return ready;
  } catch (e) {
    await d.stores.images.deleteUnused(pending.id).catch(() => undefined);
    if (e instanceof HearthError && e.code === 'IMAGE_CHECKSUM_MISMATCH') {
      throw new HearthError(
        'VM_ARCHIVE_CHECKSUM_MISMATCH',
        `Importing failed: ${ref.file} does not match the manifest's sha256 (${e.message}); nothing was kept.`,
        { detail: { file: ref.file, expected: ref.sha256 } },
      );
    }
    throw e;
  }
}
