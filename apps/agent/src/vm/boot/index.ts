import { rm } from 'node:fs/promises';
import { tailFile } from '../../console-log.ts';
import { CONSOLE_REASON_BYTES, withConsole } from '../console-reason.ts';
import type { VmContext } from '../context.ts';
import { killExpected } from '../expected-exit.ts';
import { filesOf, persist, type VmRecord } from '../record.ts';
import { prepareFiles } from './01-disk.ts';
import { writeConfig } from './02-config.ts';
import { plugNetwork } from './03-network.ts';
import { launchVmm } from './04-launch.ts';
import { awaitReady } from './05-ready.ts';
import { timed, type BootRun, type RestoreSource } from './run.ts';

export type { RestoreSource } from './run.ts';

/**
 * The boot path, in order, with the names its durations are recorded under (`awaitReady` records
 * its own two: `kernel` and `agent`).
 */
export const BOOT_STEPS = [
  ['disk', prepareFiles],
  ['config', writeConfig],
  ['network', plugNetwork],
  ['launch', launchVmm],
  [null, awaitReady],
] as const;

/**
 * Boots the VM, or with `from` resumes it from a snapshot directory: then the disk comes from
 * the snapshot and is left untouched (the guest's memory already knows its contents). Never
 * throws: a failure leaves the VM `failed` with the reason and the console's last lines, and
 * everything this boot made (VMM, TAPs, a fresh disk) removed.
 */
export async function bootVm(ctx: VmContext, rec: VmRecord, from?: RestoreSource): Promise<void> {
  const b: BootRun = {
    ctx,
    rec,
    from,
    files: filesOf(rec),
    log: ctx.log.child({ vm: rec.spec.id }),
    freshDisk: false,
    kernelPath: '',
    initrdPath: null,
    taps: [],
    instance: null,
    consoleStart: 0,
    launchedAt: 0,
    configDisk: null,
    steps: [],
  };
  rec.phase = 'starting';
  rec.reason = null;
  rec.bootMs = null;
  rec.bootSteps = null;
  const t0 = Date.now();
  try {
    for (const [name, step] of BOOT_STEPS) {
      const since = performance.now();
      await step(b);
      // A restore's launch loads the saved state.
      if (name) timed(b, name === 'launch' && from ? 'load' : name, since);
    }
    rec.bootSteps = b.steps;
    const instance = b.instance!;
    rec.bootMs = Date.now() - b.launchedAt;
    rec.phase = 'running';
    rec.startedAt = new Date().toISOString();
    await persist(rec, 'running');
    ctx.watch(rec, instance);
    b.log.info(
      { pid: instance.pid, bootMs: rec.bootMs, totalMs: Date.now() - t0, steps: b.steps },
      'VM running',
    );
  } catch (e) {
    await failBoot(b, (e as Error).message);
  }
}

async function failBoot(b: BootRun, message: string): Promise<void> {
  const { ctx, rec } = b;
  rec.reason = withConsole(message, await tailFile(b.files.consoleLog, CONSOLE_REASON_BYTES));
  rec.phase = 'failed';
  b.log.warn({ reason: message, restoring: Boolean(b.from) }, 'VM failed to boot; cleaning up');
  await killExpected(ctx, rec, { ignoreErrors: true });
  await ctx.releaseNet(rec.spec);
  // A disk made by this very boot holds nothing worth keeping; an older one holds the user's data.
  if (b.freshDisk) await rm(b.files.disk, { force: true });
  await persist(rec, 'failed');
}
