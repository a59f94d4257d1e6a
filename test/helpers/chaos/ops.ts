import { createHash, randomBytes } from 'node:crypto';
import type { Vm } from '@hearth/contract';
import { api, waitState, type ChaosState, type Files } from './state.ts';

export const OPS = [
  'create',
  'start',
  'stop',
  'snapshot',
  'restore',
  'migrate',
  'drain',
  'delete',
  'write',
] as const;
export type OpName = (typeof OPS)[number];

/** How often each operation is picked, among those that have a VM to act on. */
const WEIGHTS: Record<OpName, number> = {
  create: 2.5,
  start: 2,
  stop: 1.5,
  snapshot: 1.5,
  restore: 1,
  migrate: 1.5,
  drain: 0.4,
  delete: 1,
  write: 4,
};

const BOOT_MS = 300_000;

/** The operations that have something to act on, given the VMs as listed. */
function applicable(s: ChaosState, vms: Vm[], snapVms: Set<string>): Partial<Record<OpName, number>> {
  const has = (...states: Vm['state'][]) => vms.some((v) => states.includes(v.state));
  const w: Partial<Record<OpName, number>> = {};
  if (vms.length < s.maxVms) w.create = WEIGHTS.create;
  if (has('stopped', 'failed', 'created')) w.start = WEIGHTS.start;
  if (has('running'))
    Object.assign(w, { stop: WEIGHTS.stop, write: WEIGHTS.write, snapshot: WEIGHTS.snapshot });
  if (has('running', 'stopped')) w.migrate = WEIGHTS.migrate;
  if (vms.some((v) => snapVms.has(v.id) && (v.state === 'running' || v.state === 'stopped')))
    w.restore = WEIGHTS.restore;
  if (vms.some((v) => v.host)) w.drain = WEIGHTS.drain;
  if (vms.length) w.delete = WEIGHTS.delete;
  return w;
}

/** Picks and runs one operation; answers its name and target (the step's outcome is thrown). */
export async function runOp(
  s: ChaosState,
  vms: Vm[],
): Promise<{ name: OpName; target: string; run: () => Promise<string> }> {
  const snaps = await api(s, 'listSnapshots', (c) => c.all('listSnapshots')).then(
    (all) => all.filter((x) => x.state === 'ready' && x.vm && s.snapshots.has(x.name)),
    () => [],
  );
  const snapVms = new Set(snaps.map((x) => x.vm!));
  const w = applicable(s, vms, snapVms);
  const name = (Object.keys(w).length ? s.rng.weighted(w as Record<OpName, number>) : 'create') as OpName;
  const inState = (...states: Vm['state'][]) => vms.filter((v) => states.includes(v.state));
  const n = ++s.counter;
  switch (name) {
    case 'create': {
      const vmName = `${s.prefix}${n}`;
      const host = s.rng.chance(0.5) ? s.rng.pick(s.topo.hosts).id : undefined;
      const key = randomBytes(12).toString('hex');
      return {
        name,
        target: vmName,
        run: async () => {
          const vm = await api(s, 'createVm', (c) =>
            c.call('createVm', {
              body: { name: vmName, network: s.topo.network, memoryMib: 128, ...(host ? { host } : {}) },
              headers: { 'idempotency-key': key },
            }),
          );
          s.vms.set(vm.id, { files: new Map(), unsure: false });
          return waitState(s, vm.id, ['running', 'failed'], BOOT_MS);
        },
      };
    }
    case 'start': {
      const vm = s.rng.pick(inState('stopped', 'failed', 'created'));
      return {
        name,
        target: vm.id,
        run: async () => {
          await api(s, 'startVm', (c) => c.call('startVm', { params: { id: vm.id } }));
          return waitState(s, vm.id, ['running', 'failed'], BOOT_MS);
        },
      };
    }
    case 'stop': {
      const vm = s.rng.pick(inState('running'));
      return {
        name,
        target: vm.id,
        run: async () => {
          await api(s, 'stopVm', (c) => c.call('stopVm', { params: { id: vm.id }, body: {} }));
          return waitState(s, vm.id, ['stopped', 'failed'], 120_000);
        },
      };
    }
    case 'write': {
      const vm = s.rng.pick(inState('running'));
      const content = s.rng.hex(s.rng.int(16, 2048));
      const path = `/root/chaos/w${n}`;
      return {
        name,
        target: vm.id,
        run: async () => {
          const r = await api(s, 'execVm', (c) =>
            c.call('execVm', {
              params: { id: vm.id },
              body: {
                command: `mkdir -p /root/chaos && printf %s ${content} > ${path} && sync`,
                timeoutMs: 60_000,
              },
            }),
          );
          if (r.exitCode !== 0) return `exit ${r.exitCode}: ${r.stderr.slice(0, 80)}`;
          // Acknowledged: from now on the file must be there with this content.
          model(s, vm.id).files.set(path, createHash('sha256').update(content).digest('hex'));
          return 'acknowledged';
        },
      };
    }
    case 'snapshot': {
      const vm = s.rng.pick(inState('running', 'stopped'));
      const kind = vm.state === 'stopped' || s.rng.chance(0.3) ? 'disk' : 'memory';
      const snapName = `${s.prefix}s${n}`;
      return {
        name,
        target: `${vm.id} ${kind}`,
        run: async () => {
          // Ops run one at a time: the files acknowledged now are the snapshot's.
          s.snapshots.set(snapName, new Map(model(s, vm.id).files));
          const snap = await api(s, 'createSnapshot', (c) =>
            c.call('createSnapshot', { params: { id: vm.id }, body: { name: snapName, kind } }),
          );
          return snap.state;
        },
      };
    }
    case 'restore': {
      const snap = s.rng.pick(snaps.filter((x) => vms.some((v) => v.id === x.vm && SETTLED_RS.has(v.state))));
      return {
        name,
        target: `${snap.vm} ${snap.name}`,
        run: async () => {
          const m = model(s, snap.vm!);
          try {
            await api(s, 'restoreVm', (c) =>
              c.call('restoreVm', { params: { id: snap.vm! }, body: { snapshot: snap.id } }),
            );
          } catch (e) {
            // Refused: nothing changed. No answer: it may have been restored or not.
            if (!((e as { status?: number }).status! < 500)) m.unsure = true;
            throw e;
          }
          m.files = new Map(s.snapshots.get(snap.name) as Files);
          return waitState(s, snap.vm!, ['running', 'stopped', 'failed'], BOOT_MS);
        },
      };
    }
    case 'migrate': {
      const vm = s.rng.pick(inState('running', 'stopped'));
      const others = s.topo.hosts.filter((h) => h.id !== vm.host);
      const to = s.rng.chance(0.5) ? s.rng.pick(others).name : undefined;
      return {
        name,
        target: `${vm.id} → ${to ?? 'placement'}`,
        run: async () => {
          const moved = await api(s, 'migrateVm', (c) =>
            c.call('migrateVm', { params: { id: vm.id }, body: to ? { toHost: to } : {} }),
          );
          return `${moved.state} on ${moved.host}`;
        },
      };
    }
    case 'drain': {
      const host = s.rng.pick(s.topo.hosts.filter((h) => vms.some((v) => v.host === h.id)));
      return { name, target: host.name, run: () => drain(s, host.id) };
    }
    case 'delete': {
      const vm = s.rng.pick(vms);
      return {
        name,
        target: vm.id,
        run: async () => {
          await api(s, 'deleteVm', (c) => c.call('deleteVm', { params: { id: vm.id } }));
          const r = await waitState(s, vm.id, ['gone'], 180_000);
          if (r === 'gone') s.vms.delete(vm.id);
          return r;
        },
      };
    }
  }
}

const SETTLED_RS = new Set<Vm['state']>(['running', 'stopped']);

function model(s: ChaosState, id: string) {
  let m = s.vms.get(id);
  if (!m) s.vms.set(id, (m = { files: new Map(), unsure: false }));
  return m;
}

/** Drains a host, waits (bounded) for the drain to finish, then uncordons it for later placements. */
async function drain(s: ChaosState, hostId: string): Promise<string> {
  try {
    await api(s, 'drainHost', (c) => c.call('drainHost', { params: { id: hostId } }));
    const deadline = Date.now() + 300_000;
    for (;;) {
      const h = await api(s, 'getHost', (c) => c.call('getHost', { params: { id: hostId } })).catch(
        () => null,
      );
      const st = h?.drain?.status;
      if (h && st && st !== 'draining') {
        const moved = h.drain!.vms.filter((v) => v.status === 'done').length;
        return `${st}: ${moved} of ${h.drain!.vms.length} moved`;
      }
      if (Date.now() > deadline) return 'timeout';
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await api(s, 'uncordonHost', (c) => c.call('uncordonHost', { params: { id: hostId } })).catch(
      () => undefined,
    );
  }
}
