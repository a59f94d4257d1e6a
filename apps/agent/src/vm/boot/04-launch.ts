import { stat } from 'node:fs/promises';
import { HearthError, type AgentVmSpec } from '@hearth/contract';
import type { VmmLaunchSpec } from '@hearth/vmm';
import { volumePath } from '../../volumes.ts';
import { nicArgs, nicsOf } from '../../vm-net.ts';
import { exists, persist } from '../record.ts';
import type { BootRun } from './run.ts';
import { receiveLive } from '../migrate-incoming.ts';
import { networkWired } from './03-network.ts';

/**
 * Step 4: the VMM starts (or loads the snapshot and resumes). The intent "running" is written
 * first, so that an agent restarted from here on looks for the process.
 */
export async function launchVmm(b: BootRun): Promise<void> {
  const { rec, from, files: f, ctx } = b;
  const spec = rec.spec;
  b.consoleStart = (await stat(f.consoleLog).catch(() => ({ size: 0 }))).size;
  await persist(rec, 'running');
  b.launchedAt = Date.now();
  const driver = ctx.driverFor(spec);
  const launchSpec: VmmLaunchSpec = {
    vmId: spec.id,
    runDir: rec.dir,
    vcpus: spec.vcpus,
    memoryMib: spec.memoryMib,
    kernelPath: b.kernelPath,
    initrdPath: b.initrdPath,
    diskPath: f.disk,
    configDiskPath: b.configDisk,
    cmdline: cmdline(spec),
    consoleLogPath: f.consoleLog,
    tap: b.taps[0] ?? null,
    moreTaps: b.taps.slice(1),
    guestSocketPath: f.guestSocket,
    volumes: await volumeFiles(ctx.o.dataDir, spec),
    // Readable by the guest at boot where the VMM offers it (Firecracker's MMDS).
    metadata: {
      name: spec.name,
      nics: nicsOf(spec).map(({ network, ...n }) => ({ ...n, network: network.name })),
    },
    confine: await ctx.confinement(spec),
  };
  if (from && !driver.restore) {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Restoring failed: the ${driver.kind} driver cannot restore snapshots`,
    );
  }
  if (from?.incoming) {
    b.instance = await receiveLive(driver, launchSpec, from.incoming, (i) => (rec.instance = i));
    rec.instance = b.instance;
    await networkWired(b);
    await b.instance.resume();
    from.incoming.resumedAt = Date.now();
    return;
  }
  b.instance = from ? await driver.restore!(launchSpec, from.dir) : await driver.launch(launchSpec);
  rec.instance = b.instance;
  if (!from) return;
  // A restored guest's network is live the instant it runs: its filters and bridge ports first.
  await networkWired(b);
  await b.instance.resume();
}

function cmdline(spec: AgentVmSpec): string {
  const parts = [spec.bootArgs, `hearth.hostname=${spec.name}`, `hearth.id=${spec.id}`];
  parts.push(...nicArgs(nicsOf(spec)));
  return parts.filter(Boolean).join(' ');
}

async function volumeFiles(dataDir: string, spec: AgentVmSpec) {
  const out = [];
  for (const v of spec.volumes ?? []) {
    const path = volumePath(dataDir, v.id);
    if (!(await exists(path)))
      throw new HearthError(
        'VOLUME_NOT_FOUND',
        `Attaching volume ${v.id} failed: its file is not on this host`,
      );
    out.push({ id: v.id, path, readOnly: v.readOnly });
  }
  return out;
}
