import { open, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { HearthError, type AgentVmSpec, type AgentVmStatus } from '@hearth/contract';
import { awaitIncoming, listenIncoming, QemuDriver, type QemuInstance } from '@hearth/qemu';
import type { VmmDriver, VmmInstance, VmmLaunchSpec } from '@hearth/vmm';
import { bootVm } from './boot/index.ts';
import type { IncomingMigration } from './boot/run.ts';
import type { VmContext } from './context.ts';
import { deleteVm } from './lifecycle.ts';
import { exists, filesOf } from './record.ts';

/** One incoming migration per VM id, from `prepare` until finished or aborted. */
interface Arrival {
  release: (go: boolean) => void;
  incoming: IncomingMigration;
  boot: Promise<void>;
}
const arrivals = new Map<string, Arrival>();

/** A port free on this host now (QEMU binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Step 4 of a boot that is a live migration arriving: launch.ts calls this instead of `launch`. */
export async function receiveLive(
  driver: VmmDriver,
  spec: VmmLaunchSpec,
  m: IncomingMigration,
  started: (i: VmmInstance) => void,
): Promise<VmmInstance> {
  if (!(driver instanceof QemuDriver)) {
    throw new HearthError(
      'MIGRATION_UNSUPPORTED',
      `Live migration needs QEMU; this VM runs on ${driver.kind}.`,
    );
  }
  const inst: QemuInstance = await driver.receive(spec);
  started(inst);
  try {
    await listenIncoming(inst.qmpClient, m);
    m.listening();
    await Promise.race([
      m.go,
      inst.exited.then((x) => {
        throw new Error(`the waiting QEMU exited (${x.cause})`);
      }),
    ]);
    await awaitIncoming(inst.qmpClient);
  } catch (e) {
    await inst.kill();
    throw e;
  }
  return inst;
}

/**
 * The destination's first step: the VM's network and an empty disk of the source's size, its
 * QEMU waiting with an NBD server and a migration listener. The boot runs on in the background
 * (boot/index.ts, `from.incoming`) until `finishIncoming` or `abortIncoming`.
 */
export async function prepareIncoming(
  ctx: VmContext,
  spec: AgentVmSpec,
  o: { diskBytes: number; hasAgent: boolean },
): Promise<{ nbdPort: number; migratePort: number }> {
  const dir = ctx.vmDir(spec.id);
  if (ctx.vms.has(spec.id) || arrivals.has(spec.id) || (await exists(dir))) {
    throw new HearthError(
      'MIGRATION_FAILED',
      `Receiving VM ${spec.id} failed: this host has that VM already (a run directory or a VMM).`,
    );
  }
  if (spec.vmm !== 'qemu')
    throw new HearthError('MIGRATION_UNSUPPORTED', `Live migration needs QEMU; this VM runs on ${spec.vmm}.`);
  const rec = ctx.recordFor(spec);
  const f = filesOf(rec);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The mirror writes every block of the source's disk into this one.
  const disk = await open(f.disk, 'w');
  await disk.truncate(o.diskBytes);
  await disk.close();
  await writeFile(f.diskInfo, JSON.stringify({ hasAgent: o.hasAgent, reason: null }) + '\n');
  const [nbdPort, migratePort] = [await freePort(), await freePort()];
  let listening!: () => void;
  const up = new Promise<void>((r) => (listening = r));
  let release!: (go: boolean) => void;
  const go = new Promise<void>((resolve, reject) => {
    release = (ok) => (ok ? resolve() : reject(new Error('the migration was given up')));
  });
  go.catch(() => undefined);
  const incoming: IncomingMigration = { nbdPort, migratePort, drives: ['root'], listening, go };
  const boot = ctx.serial(rec, () => bootVm(ctx, rec, { dir, hasAgent: o.hasAgent, source: null, incoming }));
  arrivals.set(spec.id, { release, boot, incoming });
  const ready = await Promise.race([up.then(() => true), boot.then(() => false)]);
  if (!ready) {
    arrivals.delete(spec.id);
    const reason = rec.reason ?? 'the waiting QEMU did not start';
    await deleteVm(ctx, spec.id).catch(() => undefined);
    throw new HearthError('MIGRATION_FAILED', `Receiving VM ${spec.id} failed: ${reason}`);
  }
  return { nbdPort, migratePort };
}

/** The source finished: the guest continues here; answers once its agent session is open. */
export async function finishIncoming(
  ctx: VmContext,
  id: string,
): Promise<AgentVmStatus & { resumedAt: number }> {
  const a = arrivals.get(id);
  if (!a) throw new HearthError('VM_NOT_FOUND', `VM ${id} is not arriving on this host`);
  a.release(true);
  await a.boot;
  arrivals.delete(id);
  const st = ctx.status(id);
  if (st.phase !== 'running') {
    const reason = ctx.vms.get(id)?.reason ?? st.phase;
    await deleteVm(ctx, id).catch(() => undefined);
    throw new HearthError('MIGRATION_FAILED', `Continuing VM ${id} on this host failed: ${reason}`);
  }
  return { ...st, resumedAt: a.incoming.resumedAt ?? Date.now() };
}

/** Gives an arrival up: its QEMU killed, its network, disk and run directory removed. */
export async function abortIncoming(ctx: VmContext, id: string): Promise<void> {
  const a = arrivals.get(id);
  if (a) {
    a.release(false);
    await a.boot.catch(() => undefined);
    arrivals.delete(id);
  }
  if (ctx.vms.has(id)) await deleteVm(ctx, id);
}
