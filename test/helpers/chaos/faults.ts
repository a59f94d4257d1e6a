import { netnsId, vmmProcs } from './scan.ts';
import type { ChaosState } from './state.ts';

export const FAULTS = ['kill-agent', 'kill-manager', 'kill-vmm', 'cut-link', 'restart-pg'] as const;
export type FaultName = (typeof FAULTS)[number];

/** A fault still in force, undone at `healAt` (ms since the epoch) by the run's healer, or at the end. */
export interface Pending {
  name: FaultName;
  target: string;
  healAt: number;
  /** Its heal is under way (it stays listed until done). */
  healing?: boolean;
  heal: () => Promise<void>;
}

/**
 * Picks and injects one fault that the cluster can take now (at most one agent down, one replica
 * down, one link cut and the database down at a time: the run must be able to go on), or null.
 */
export function pickFault(
  s: ChaosState,
  pending: Pending[],
  maxFaultS: number,
): { name: FaultName; target: string; inject: () => Promise<Pending | null> } | null {
  const busy = new Set(pending.map((p) => p.name));
  const { topo, rng } = s;
  // How long a fault lasts is seeded too: a few seconds (calls ride over it) up to past the
  // manager's offline and unreachable marks when maxFaultS allows.
  const later = () => Date.now() + rng.int(3, maxFaultS) * 1000;
  const options: FaultName[] = [];
  if (!busy.has('kill-agent') && !busy.has('cut-link')) options.push('kill-agent', 'cut-link');
  if (!busy.has('kill-manager')) options.push('kill-manager');
  if (!busy.has('restart-pg')) options.push('restart-pg');
  const ours = new Set(topo.hosts.map((h) => netnsId(h.ns.name)));
  const vmms = vmmProcs().filter((p) => ours.has(p.netns) && !p.incoming);
  if (vmms.length) options.push('kill-vmm');
  if (!options.length) return null;
  const name = rng.pick(options);
  switch (name) {
    case 'kill-agent': {
      const h = rng.pick(topo.hosts);
      return {
        name,
        target: h.name,
        inject: async () => {
          await h.kill9();
          return { name, target: h.name, healAt: later(), heal: () => h.start() };
        },
      };
    }
    case 'cut-link': {
      const h = rng.pick(topo.hosts);
      return {
        name,
        target: h.name,
        inject: async () => {
          h.cutLink();
          return { name, target: h.name, healAt: later(), heal: async () => h.restoreLink() };
        },
      };
    }
    case 'kill-manager': {
      const r = rng.pick(topo.replicas);
      return {
        name,
        target: `replica ${r.name}`,
        inject: async () => {
          await r.kill9();
          return { name, target: r.name, healAt: later(), heal: () => r.start() };
        },
      };
    }
    case 'restart-pg':
      return {
        name,
        target: 'postgresql',
        inject: async () => {
          topo.pg.stop();
          topo.pgDown = true;
          return {
            name,
            target: 'postgresql',
            healAt: Date.now() + rng.int(2, 12) * 1000,
            heal: async () => {
              topo.pg.start();
              topo.pgDown = false;
            },
          };
        },
      };
    case 'kill-vmm': {
      const v = rng.pick(vmms.sort((a, b) => a.pid - b.pid));
      return {
        name,
        target: `${v.vmId} pid ${v.pid}`,
        inject: async () => {
          try {
            process.kill(v.pid, 'SIGKILL');
          } catch {
            /* exited on its own meanwhile */
          }
          return null;
        },
      };
    }
  }
}
