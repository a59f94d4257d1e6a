import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentVmSpec } from '@hearth/contract';
import { prepareDisk } from '../../disk.ts';
import { GUEST_AGENT_GUEST_PATH } from '../../guest/inject.ts';
import { preparedImage } from '../../guest/prepared-image.ts';
import { exists, writeSpec } from '../record.ts';
import type { BootRun } from './run.ts';

interface DiskInfo {
  hasAgent: boolean;
  reason: string | null;
}

/**
 * Step 1 (`disk`), in the run directory hostSide made: spec.json, the disk and local paths of
 * the kernel and initrd (fetched from the manager when absent). A first boot copies the disk from the image's
 * prepared copy (our agent injected once per image and agent version); later boots use the disk
 * as the guest left it and never read it: whether it runs an agent was noted when it was made.
 * A restore brings its own disk.
 */
export async function prepareFiles(b: BootRun): Promise<void> {
  const { rec, files: f } = b;
  const spec = rec.spec;
  await writeSpec(rec);
  b.freshDisk = !b.from && !(await exists(f.disk));
  const local = (ref: AgentVmSpec['rootfs']) => b.ctx.o.images?.local(ref) ?? ref.path;
  const [rootfs, kernelPath, initrdPath] = await Promise.all([
    b.freshDisk ? local(spec.rootfs) : null,
    local(spec.kernel),
    spec.initrd ? local(spec.initrd) : null,
  ]);
  b.kernelPath = kernelPath;
  b.initrdPath = initrdPath;
  if (b.from) {
    rec.hasAgent = b.from.hasAgent && Boolean(spec.guest);
    return;
  }
  if (rootfs) {
    const info = await makeDisk(b, rootfs);
    await writeFile(f.diskInfo, JSON.stringify(info) + '\n');
    rec.hasAgent = info.hasAgent && Boolean(spec.guest);
    if (spec.guest && !info.hasAgent)
      b.log.warn({ reason: info.reason }, 'no guest agent in this image; exec and shell unavailable');
    return;
  }
  // A disk made before the agent noted this carried an injected agent whenever the VM had one.
  const info = await readFile(f.diskInfo, 'utf8')
    .then((s) => JSON.parse(s) as DiskInfo)
    .catch(() => ({ hasAgent: true, reason: null }));
  rec.hasAgent = info.hasAgent && Boolean(spec.guest);
}

async function makeDisk(b: BootRun, rootfs: string): Promise<DiskInfo> {
  const spec = b.rec.spec;
  const size = spec.diskMib * 1024 * 1024;
  if (!spec.guest) {
    await prepareDisk(rootfs, b.files.disk, size);
    return { hasAgent: false, reason: 'the VM has no guest credentials' };
  }
  const asInit = spec.bootArgs.split(/\s+/).includes(`init=${GUEST_AGENT_GUEST_PATH}`);
  const cacheDir = join(b.ctx.o.dataDir, 'prepared-images');
  const prepared = await preparedImage(cacheDir, rootfs, b.ctx.o.guestAgentPath, { asInit });
  // With an agent the guest grows its mounted root itself (EXT4_IOC_RESIZE_FS), overlapping the boot.
  await prepareDisk(prepared.path, b.files.disk, size, { growFs: !prepared.hasAgent });
  return { hasAgent: prepared.hasAgent, reason: prepared.reason };
}
