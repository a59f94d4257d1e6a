import { fromIterable, fromWeb } from '@hearth/contract/streams';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  HearthError,
  SPARSE_ENCODING,
  VM_ARCHIVE_FORMAT,
  VM_ARCHIVE_MANIFEST,
  VM_ARCHIVE_VERSION,
  type ExportVmBody,
  type Snapshot,
  type VmArchiveManifest,
  type VmArchiveRestore,
} from '@hearth/contract';
import type { AgentClient } from '../services/agent-client.ts';
import type { SnapshotService } from '../services/snapshot-service.ts';
import type { Stores } from '../store/index.ts';
import { END_OF_ARCHIVE, memberHeader, padding } from './tar.ts';

export interface ExportDeps {
  stores: Stores;
  agents: AgentClient;
  snapshots: SnapshotService;
  log: Logger;
}

const DISK = 'disk.hsparse';
const MEMORY = 'memory.hsparse';
const IMAGE = 'image.img';

/**
 * A VM as one tar stream (docs/backups.md § VM export): the manifest first, then the image file
 * when asked, the disk and the memory, each streamed from where it lives (the manager's image
 * store, the VM's host) as the client reads. The VM must be stopped; with `snapshot` (or `memory`)
 * a running one is exported through a snapshot taken for this, deleted once the stream ends.
 */
export async function exportVm(
  d: ExportDeps,
  idOrName: string,
  project: string,
  o: ExportVmBody,
  actor: string,
): Promise<{ stream: Readable; fileName: string }> {
  const vm = await d.stores.vms.require(idOrName, project);
  const throughSnapshot = o.snapshot || o.memory;
  // `created`: never started, so its disk exists only if it was imported (the agent says if not).
  if (!throughSnapshot && vm.state !== 'stopped' && vm.state !== 'created') {
    throw new HearthError(
      'VM_INVALID_STATE',
      `Exporting VM "${vm.name}" failed: it is ${vm.state}; stop it, or export a consistent copy of it running with --snapshot.`,
      { detail: { state: vm.state, action: 'export', allowedFrom: ['stopped', 'created'] } },
    );
  }
  if (!vm.host_id)
    throw new HearthError('VM_INVALID_STATE', `Exporting VM "${vm.name}" failed: it has no host.`);
  const host = await d.stores.hosts.require(vm.host_id);
  const [image, kernel] = await Promise.all([
    d.stores.images.requireUnscoped(vm.image_id),
    d.stores.images.requireUnscoped(vm.kernel_id),
  ]);
  if (o.withImage && (image.status !== 'ready' || !image.path)) {
    throw new HearthError(
      'IMAGE_NOT_READY',
      `Exporting VM "${vm.name}" failed: image "${image.name}" has no file.`,
    );
  }
  // Checked as for any snapshot: running or paused (VM_INVALID_STATE otherwise).
  const snap: Snapshot | null = throughSnapshot ? await d.snapshots.create(vm.id, project, {}, actor) : null;
  let dropped = false;
  const dropSnapshot = async () => {
    if (dropped) return;
    dropped = true;
    if (snap)
      await d.snapshots
        .delete(snap.id, project)
        .catch((e: unknown) => d.log.warn({ err: e, snapshot: snap.id }, 'export snapshot not deleted'));
  };
  try {
    const from = snap ? { snapshot: snap.id } : {};
    const disk = await d.agents.call(host, 'exportInfo', {
      params: { id: vm.id },
      query: { file: 'disk', ...from },
    });
    const memory =
      o.memory && snap
        ? await d.agents.call(host, 'exportInfo', {
            params: { id: vm.id },
            query: { file: 'memory', ...from },
          })
        : null;
    const files: VmArchiveManifest['files'] = [];
    if (o.withImage) files.push({ path: IMAGE, sha256: image.sha256, sizeBytes: Number(image.size_bytes) });
    files.push({ path: DISK, sha256: disk.sha256, sizeBytes: disk.encodedBytes });
    if (memory) files.push({ path: MEMORY, sha256: memory.sha256, sizeBytes: memory.encodedBytes });
    // What loading the memory elsewhere needs (version 2); the guest secret only with the memory.
    const restore: VmArchiveRestore | undefined = memory?.restore
      ? { ...memory.restore, guestSecret: vm.guest?.secret ?? null }
      : undefined;
    const manifest: VmArchiveManifest = {
      format: VM_ARCHIVE_FORMAT,
      version: restore ? VM_ARCHIVE_VERSION : 1,
      createdAt: new Date().toISOString(),
      source: { id: vm.id, name: vm.name, project: vm.project, state: vm.state },
      vm: {
        name: vm.name,
        vcpus: vm.vcpus,
        memoryMib: vm.memory_mib,
        diskMib: vm.disk_mib,
        vmm: vm.vmm ?? 'qemu',
        labels: vm.labels ?? {},
        env: vm.env ?? {},
        ports: vm.ports ?? [],
        egress: vm.egress ?? null,
        bandwidthMbit: vm.bandwidth_mbit ?? null,
        timeout: vm.timeout ?? null,
        // Accounts and SSH keys travel; password hashes, the guest secret and user data never do.
        users: (vm.guest?.users ?? []).map((u) => ({ name: u.name, sshKeys: u.sshKeys ?? [] })),
      },
      image: {
        name: image.name,
        sha256: image.sha256,
        sizeBytes: Number(image.size_bytes),
        format: image.format,
        file: o.withImage ? IMAGE : null,
      },
      kernel: { name: kernel.name, sha256: kernel.sha256 },
      disk: { file: DISK, encoding: SPARSE_ENCODING, sizeBytes: disk.sizeBytes, hasAgent: disk.hasAgent },
      memory:
        memory && snap
          ? {
              file: MEMORY,
              encoding: SPARSE_ENCODING,
              sizeBytes: memory.sizeBytes,
              vmm: snap.vmm,
              vmmVersion: snap.vmmVersion,
              ...(restore ? { restore } : {}),
            }
          : null,
      files,
    };
    const agentFile = async (file: 'disk' | 'memory', info: { sha256: string; encodedBytes: number }) => {
      const res = await d.agents.raw(
        host,
        'exportFile',
        {
          params: { id: vm.id },
          query: { file, ...from, sha256: info.sha256, encodedBytes: info.encodedBytes },
        },
        { stream: true },
      );
      return fromWeb(res.body as never) as AsyncIterable<Buffer>;
    };
    async function* archive(): AsyncGenerator<Buffer> {
      try {
        const json = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
        yield memberHeader(VM_ARCHIVE_MANIFEST, json.length);
        yield json;
        yield padding(json.length);
        if (o.withImage) yield* member(IMAGE, Number(image.size_bytes), createReadStream(image.path));
        yield* member(DISK, disk.encodedBytes, await agentFile('disk', disk));
        if (memory) yield* member(MEMORY, memory.encodedBytes, await agentFile('memory', memory));
        yield END_OF_ARCHIVE;
      } finally {
        await dropSnapshot();
      }
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    const stream = fromIterable(archive());
    // A client that leaves before the first byte never runs the generator's `finally`.
    stream.once('close', () => void dropSnapshot());
    return { stream, fileName: `${vm.name}-${stamp}.tar` };
  } catch (e) {
    await dropSnapshot();
    throw e;
  }
}

/** One member: header, exactly `size` bytes from `body` (fewer or more ends the archive with an error). */
async function* member(path: string, size: number, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield memberHeader(path, size);
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > size) break;
    yield c;
  }
  if (n !== size) throw new Error(`Exporting failed: ${path} gave ${n} bytes, ${size} were expected.`);
  yield padding(size);
}
