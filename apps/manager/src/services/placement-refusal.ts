import { HearthError } from '@hearth/contract';
import type { Constraint, Exclusion } from './placement-fit.ts';

const ORDER: Constraint[] = ['hostSelector', 'antiAffinity', 'cpu', 'memory', 'disk'];

/**
 * The refusal when every host was left out: each constraint that excluded a host, with the hosts
 * it excluded and why ("no host met: memory (a needs 612 MiB, 400 free ×1.0), anti-affinity group
 * web (b holds web-1)"), and per host the full list in `detail.hosts`. When some host meets the
 * VM's own constraints (host selector, anti-affinity group) and only lacks room (CPU, memory,
 * disk): NO_HOST_AVAILABLE, 503, since room frees up as VMs stop. When every host fails one of
 * the VM's own constraints: NO_HOST_MATCHES, 409, which waiting alone does not change.
 */
export function placementRefusal(
  excluded: { host: string; reasons: Exclusion[] }[],
  req: { hostSelector: Record<string, string>; antiAffinityGroup: string | null; what: string },
): HearthError {
  const own = (r: Exclusion) => r.constraint === 'hostSelector' || r.constraint === 'antiAffinity';
  // The message names a host the VM's own constraints leave out for those alone (its room would
  // not matter); `detail` keeps every reason.
  const byConstraint = new Map<Constraint, string[]>();
  for (const x of excluded) {
    const shown = x.reasons.some(own) ? x.reasons.filter(own) : x.reasons;
    for (const r of shown) byConstraint.set(r.constraint, [...(byConstraint.get(r.constraint) ?? []), r.why]);
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
  const theirs = excluded.every((x) => x.reasons.some(own));
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
