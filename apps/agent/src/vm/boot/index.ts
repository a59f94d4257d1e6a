import { mkdir, rm } from 'node:fs/promises';
import { tailFile } from '../../console-log.ts';
import { CONSOLE_REASON_BYTES, withConsole } from '../console-reason.ts';
import type { VmContext } from '../context.ts';
import { killExpected } from '../expected-exit.ts';
import { filesOf, persist, type VmRecord } from '../record.ts';
import { prepareFiles } from './01-disk.ts';
import { writeConfig } from './02-config.ts';
import { networkWired, plugNetwork } from './03-network.ts';
import { launchVmm } from './04-launch.ts';
import { awaitReady } from './05-ready.ts';
import { timed, type BootRun, type RestoreSource } from './run.ts';

export type { RestoreSource } from './run.ts';

/**
 * Boots the VM, or with `from` resumes it from a snapshot directory: then the disk comes from
 * the snapshot and is left untouched (the guest's memory already knows its contents). The steps,
 * with the names their durations are recorded under: `disk`, `config` and `network` (see
 * hostSide: the network runs alongside the other two), `queue` when the host's boot gate made it
 * wait, `launch` (`load` for a restore), then
 * `awaitReady`'s own (`kernel` and `agent`, or `resume` and `identity`), and `wiring` when the
 * network's filters and bridge ports (written while the VMM starts) were not done by then. Never
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
    wiring: Promise.resolve(null),
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
    await hostSide(b);
    const release = await takeTurn(b);
    try {
      const since = performance.now();
      await launchVmm(b);
      // A restore's launch loads the saved state.
      timed(b, from ? 'load' : 'launch', since);
      await awaitReady(b);
      // Usually long done: the filters and bridge ports were written while the guest booted.
      const wiredSince = performance.now();
      await networkWired(b);
      if (performance.now() - wiredSince >= 1) timed(b, 'wiring', wiredSince);
    } finally {
      release();
    }
    rec.bootSteps = b.steps;
    const instance = b.instance!;
    rec.bootMs = Date.now() - b.launchedAt;
    rec.phase = 'running';
    rec.startedAt = new Date().toISOString();
    await persist(rec, 'running');
    ctx.watch(rec, instance);
    await ctx.syncDns();
    b.log.info(
      { pid: instance.pid, bootMs: rec.bootMs, totalMs: Date.now() - t0, steps: b.steps },
      'VM running',
    );
  } catch (e) {
    // The cleanup must find every rule and bridge port the network's second half made; its
    // failure, if any, is the cause (a guest on an unwired network can only time out).
    const unwired = await b.wiring;
    await failBoot(b, (unwired ?? (e as Error)).message);
  }
}

/**
 * Waits for this host's boot gate (vm/boot-gate.ts), recording the wait as step `queue` when there
 * was one. An incoming live migration does not queue: its source is already sending.
 */
async function takeTurn(b: BootRun): Promise<() => void> {
  const gate = b.ctx.boots;
  if (!gate || b.from?.incoming) return () => undefined;
  const since = performance.now();
  const waiting = gate.active >= gate.limit;
  if (waiting)
    b.log.info({ ahead: gate.queued, limit: gate.limit }, 'boot queued: the host boots enough VMs at once');
  const release = await gate.enter();
  if (waiting) timed(b, 'queue', since);
  return release;
}

/**
 * `disk` then `config`, with `network` started at the same time. A failure of either branch
 * waits for the other to settle, so the cleanup finds every TAP and file this boot made.
 */
async function hostSide(b: BootRun): Promise<void> {
  // Both branches need the run directory: the TAPs' owner is the uid its group records.
  await mkdir(b.rec.dir, { recursive: true });
  const net = plugNetwork(b).then(
    () => null,
    (e: unknown) => e as Error,
  );
  let since = performance.now();
  try {
    await prepareFiles(b);
    since = timed(b, 'disk', since);
    await writeConfig(b);
    since = timed(b, 'config', since);
  } catch (e) {
    await net;
    throw e;
  }
  const failed = await net;
  if (failed) throw failed;
  timed(b, 'network', since);
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
