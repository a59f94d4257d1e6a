import { mkdir } from 'node:fs/promises';
import type { AgentVmSpec } from '@hearth/contract';
import { prepareDisk } from '../../disk.ts';
import { exists, writeSpec } from '../record.ts';
import type { BootRun } from './run.ts';

/**
 * Step 1: the run directory, spec.json, the disk (made from the image on first boot; a restore
 * brings its own) and local paths of the kernel and initrd (fetched from the manager when absent).
 */
export async function prepareFiles(b: BootRun): Promise<void> {
  const { rec, files: f } = b;
  const spec = rec.spec;
  await mkdir(rec.dir, { recursive: true });
  await writeSpec(rec);
  b.freshDisk = !b.from && !(await exists(f.disk));
  const local = (ref: AgentVmSpec['rootfs']) => b.ctx.o.images?.local(ref) ?? ref.path;
  if (b.freshDisk) await prepareDisk(await local(spec.rootfs), f.disk, spec.diskMib * 1024 * 1024);
  b.kernelPath = await local(spec.kernel);
  b.initrdPath = spec.initrd ? await local(spec.initrd) : null;
}
