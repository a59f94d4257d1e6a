import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HearthError, type Vm } from '@hearth/contract';
import { HearthClient } from '@hearth/sdk';
import { removeBridge, sweepLeftovers, tapName } from '@hearth/agent';
import { agentHostId, killLeftoverVmms, uniqueNet } from './platform.ts';
import { freshDatabase, testPgUrl } from './pg.ts';
import { freePort, runHearth, type Proc } from './proc.ts';
import { linkExists, pidAlive } from './vm.ts';
import pino from 'pino';

/** One round's timings in ms; the operations are timed from when the restarted API listens. */
export interface RoundResult {
  round: number;
  /** From the kill to the restarted API listening (the agent registers after). */
  restartMs: number;
  stopMs: number;
  execMs: number;
  deleteMs: number;
  /** Answers that said "retry later" (503 with Retry-After) before the operation went through. */
  retries: number;
}

/**
 * `hearth up` on its own data directory, bridge and (when configured) PostgreSQL database,
 * killed with SIGKILL and restarted in rounds: with two VMs running, at once stop one, exec in
 * the other and delete a third. Shared by the restart test and `npm run bench:restart`.
 */
export async function restartScenario() {
  const net = uniqueNet();
  const dir = await mkdtemp(join(tmpdir(), 'hearth-restart-'));
  const port = await freePort();
  let env: Record<string, string> = {};
  let dropDb: (() => Promise<void>) | null = null;
  const pgBase = testPgUrl();
  if (pgBase) {
    const db = await freshDatabase(pgBase);
    dropDb = db.drop;
    env = { DATABASE_URL: db.url };
  }
  let up: Proc | null = null;
  let client: HearthClient | null = null;

  /** Starts `hearth up`; resolves once it printed "Hearth is up" unless `wait` is false. */
  const start = async (wait = true) => {
    up = runHearth(
      ['--data-dir', dir, 'up', '--port', String(port), '--bridge', net.bridge, '--cidr', net.cidr],
      env,
    );
    if (!wait) return null;
    await up.waitFor('Hearth is up', 120_000);
    return connect();
  };
  // Read once: `hearth up` rewrites the file at every start (same token), so a read racing that
  // write could see it empty.
  let token = '';
  const connect = async () => {
    token ||= (await readFile(join(dir, 'manager', 'admin.token'), 'utf8')).trim();
    client = new HearthClient({ baseUrl: `http://127.0.0.1:${port}`, token });
    return client;
  };

  /** Retries what the contract says to retry (503 with Retry-After); counts how often. */
  const retrying = async <T>(fn: () => Promise<T>, counter: { n: number }): Promise<T> => {
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof HearthError && e.status === 503)) throw e;
        counter.n++;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  const failedEvents = async (c: HearthClient, vm: Vm) =>
    (await c.call('vmEvents', { params: { id: vm.id }, query: { limit: 200 } })).items.filter(
      (e) => e.to === 'failed',
    );

  const running = async (c: HearthClient, name: string) => {
    const vm = await c.call('createVm', { body: { name, memoryMib: 128 } });
    return c.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 180 } });
  };

  return {
    dir,
    net,
    port,
    start,
    connect,
    client: () => client!,
    proc: () => up!,
    /**
     * One round: `keep` and `stop` must be running, `doomed` exists. Kills `hearth up`, restarts
     * it and at once stops `stop`, execs in `keep` and deletes `doomed`.
     */
    async round(round: number, vms: { stop: Vm; keep: Vm; doomed: Vm }): Promise<RoundResult> {
      const t0 = performance.now();
      await up!.kill('SIGKILL');
      // The VMMs outlive `hearth up`: killing it is not stopping them.
      for (const v of [vms.stop, vms.keep]) if (!pidAlive(v.pid!)) throw new Error(`VMM of ${v.name} died`);
      // At once: as soon as the API listens, before the agent is back (it registers moments later).
      await start(false);
      await up!.waitFor('manager listening', 120_000);
      const c = await connect();
      const restartMs = performance.now() - t0;
      const retries = { n: 0 };
      const timed = async <T>(fn: () => Promise<T>) => {
        const s = performance.now();
        const out = await fn();
        return { out, ms: performance.now() - s };
      };
      const [stop, exec, del] = await Promise.all([
        timed(async () => {
          await retrying(() => c.call('stopVm', { params: { id: vms.stop.id }, body: {} }), retries);
          return c.call('waitVm', { params: { id: vms.stop.id }, query: { state: 'stopped', timeout: 120 } });
        }),
        timed(() =>
          retrying(
            () =>
              c.call('execVm', {
                params: { id: vms.keep.id },
                body: { command: `echo round-${round}` },
              }),
            retries,
          ),
        ),
        timed(async () => {
          await retrying(() => c.call('deleteVm', { params: { id: vms.doomed.id } }), retries);
          // Deleting never passes through `stopped`: the wait ends when the VM is gone (or failed).
          const err = await c
            .call('waitVm', { params: { id: vms.doomed.id }, query: { state: 'stopped', timeout: 120 } })
            .then(
              () => null,
              (e: unknown) => e,
            );
          if (!(err instanceof HearthError && err.code === 'VM_NOT_FOUND'))
            throw err ?? new Error('not gone');
        }),
      ]);
      if (exec.out.stdout.trim() !== `round-${round}`) {
        throw new Error(`exec answered ${JSON.stringify(exec.out)}`);
      }
      return {
        round,
        restartMs,
        stopMs: stop.ms,
        execMs: exec.ms,
        deleteMs: del.ms,
        retries: retries.n,
      };
    },
    running,
    failedEvents,
    /** The TAP of a deleted VM is gone (a delete that finished left nothing behind). */
    tapGone: (vm: Vm) => !linkExists(tapName(vm.id)),
    async dispose() {
      await (up as Proc | null)?.kill('SIGTERM');
      await killLeftoverVmms(dir);
      await sweepLeftovers({
        owners: [await agentHostId(dir)],
        runningVms: new Set(),
        networksInUse: new Set(),
        keepBridges: new Set(),
        log: pino({ level: 'silent' }),
      }).catch(() => undefined);
      await removeBridge(net.bridge);
      await dropDb?.().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
