import type { AgentDnsNamesBody, AgentVmSpec, AgentVmStatus } from '@hearth/contract';
import { applyPorts } from '../net.ts';
import { applyPolicy, nicsOf, portTarget } from '../vm-net.ts';
import type { VmContext } from './context.ts';
import { writeSpec } from './record.ts';

export type NetPolicy = Pick<AgentVmSpec, 'ports' | 'egress' | 'bandwidthMbit'>;

/**
 * Replaces the published ports, egress policy and rate limit; applied at once when the VM runs
 * (each atomically), else at its next start.
 */
export function setNetPolicy(ctx: VmContext, id: string, p: NetPolicy): Promise<AgentVmStatus> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    const next = { ...rec.spec, ...p };
    const domains = (s: AgentVmSpec) => JSON.stringify([...(s.egress?.domains ?? [])].sort());
    const dropDnsSet = domains(next) !== domains(rec.spec);
    if (rec.instance && nicsOf(next).length) {
      const apply = async (s: AgentVmSpec) => {
        const to = portTarget(s);
        if (to) await applyPorts(id, to, s.ports);
        await applyPolicy(s, ctx.agentName, { dropDnsSet });
      };
      try {
        await apply(next);
      } catch (e) {
        // All or nothing: what was applied of the new settings goes back to the old ones.
        await apply(rec.spec).catch((r: Error) =>
          ctx.log.error({ vm: id, err: r.message }, 'restoring the previous network settings failed'),
        );
        throw e;
      }
    }
    rec.spec = next;
    await writeSpec(rec);
    // Allowed domains are the forwarders' options: they follow the new policy.
    await ctx.syncDns();
    return ctx.status(id);
  });
}

export function netPolicy(ctx: VmContext, id: string): NetPolicy {
  const { ports, egress, bandwidthMbit } = ctx.need(id).spec;
  return { ports: ports ?? [], egress: egress ?? null, bandwidthMbit: bandwidthMbit ?? null };
}

/** Replaces the DNS names of the VM's NICs (matched by MAC); the forwarders publish them at once. */
export function setDnsNames(ctx: VmContext, id: string, body: AgentDnsNamesBody): Promise<AgentVmStatus> {
  const rec = ctx.need(id);
  return ctx.serial(rec, async () => {
    const by = new Map(body.nics.map((n) => [n.mac, n]));
    const nics = (rec.spec.nics ?? []).map((n) => {
      const names = by.get(n.mac);
      return names ? { ...n, dnsNames: names.dnsNames, dnsAliases: names.dnsAliases } : n;
    });
    rec.spec = { ...rec.spec, nics };
    await writeSpec(rec);
    await ctx.syncDns();
    return ctx.status(id);
  });
}
