import { HearthError } from '@hearth/contract';
import type { Constraint, Exclusion } from './placement-fit.ts';

const ORDER: Constraint[] = ['hostSelector', 'antiAffinity', 'cpu', 'memory', 'disk'];

/**
 * The refusal when every host was left out: each constraint that excluded a host, with the hosts
 * it excluded and why ("no host met: memory (a needs 612 MiB, 400 free ×1.0), anti-affinity group
 * web (b holds web-1)"), and per host the full list in `detail.hosts`. Only capacity in the way
 * (CPU, memory, disk): NO_HOST_AVAILABLE, 503, since room frees up as VMs stop; a host selector
 * or an anti-affinity group in the way: NO_HOST_MATCHES, 409, which waiting does not change.
 */
export function placementRefusal(
  excluded: { host: string; reasons: Exclusion[] }[],
  req: { hostSelector: Record<string, string>; antiAffinityGroup: string | null; what: string },
): HearthError {
  const byConstraint = new Map<Constraint, string[]>();
  for (const x of excluded) {
    for (const r of x.reasons) byConstraint.set(r.constraint, [...(byConstraint.get(r.constraint) ?? []), r.why]);
  }
  const constraints = ORDER.filter((c) => byConstraint.has(c));
  const label = (c: Constraint): string => {
    if (c === 'hostSelector') {
      const sel = Object.entries(req.hostSelector).map(([k, v]) => `${k}=${v}`);
      return `host selector ${sel.join(',')}`;
    }
    if (c === 'antiAffinity') return `anti-affinity group ${req.antiAffinityGroup}`;
    return c;
  };
  const met = constraints.map((c) => `${label(c)} (${byConstraint.get(c)!.join('; ')})`).join(', ');
  const theirs = constraints.some((c) => c === 'hostSelector' || c === 'antiAffinity');
  return new HearthError(
    theirs ? 'NO_HOST_MATCHES' : 'NO_HOST_AVAILABLE',
    `Placing ${req.what} failed: no host met: ${met}.`,
    {
      detail: {
        constraints,
        hosts: excluded.map((x) => ({ host: x.host, reasons: x.reasons })),
      },
    },
  );
}
