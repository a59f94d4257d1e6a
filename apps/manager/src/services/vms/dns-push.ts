import type { VmRow } from '../../store/mappers.ts';
import { hostOf, type VmContext } from './context.ts';

/** States in which the VM's host runs it, so its names are published there now. */
const PUBLISHED = ['starting', 'running', 'pausing', 'paused', 'resuming'];

/**
 * After a rename or a pool hand-out (which names the pooled VM), the VM's host publishes its new
 * names at once. Best effort: a host that cannot (unreachable, an older agent) publishes them at
 * the VM's next start, from the spec it is given then.
 */
export async function pushDnsNames(ctx: VmContext, row: VmRow): Promise<void> {
  if (!row.host_id || !PUBLISHED.includes(row.state)) return;
  try {
    const nics = await ctx.networks.agentNics(
      { id: row.id, name: row.name, project: row.project, dnsAliases: row.dns_aliases },
      row.host_id,
    );
    const named = nics.filter((n) => n.dnsNames);
    if (!named.length) return;
    await ctx.agents.dnsNames(await hostOf(ctx, row), row.id, {
      nics: named.map((n) => ({ mac: n.mac, dnsNames: n.dnsNames ?? [], dnsAliases: n.dnsAliases ?? [] })),
    });
  } catch (e) {
    ctx.log.warn({ vm: row.id, err: (e as Error).message }, "publishing the VM's new DNS names failed");
  }
}
