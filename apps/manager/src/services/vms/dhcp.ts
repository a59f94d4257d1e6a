import { vmFromRow, type VmRow } from '../../store/mappers.ts';
import { hostOf, type VmContext } from './context.ts';

/**
 * A NIC on a DHCP network gets its address from the LAN's server after boot: ask the guest
 * agent until it reports one per DHCP NIC (matched by MAC), for up to a minute.
 */
export async function learnDhcpAddresses(ctx: VmContext, row: VmRow): Promise<void> {
  if (!(await ctx.networks.hasDhcpNics(row.id))) return;
  const host = await hostOf(ctx, row);
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const cur = await ctx.stores.vms.getUnscoped(row.id);
    if (cur?.state !== 'running') return;
    try {
      const info = await ctx.agents.guestInfo(host, row.id);
      if (await ctx.networks.recordDhcpAddresses(row.id, info.ips)) {
        const now = await ctx.stores.vms.getUnscoped(row.id);
        if (now) ctx.bus.publish(vmFromRow(now));
        return;
      }
    } catch (e) {
      ctx.log.debug({ vm: row.id, err: (e as Error).message }, 'guest has no DHCP address yet');
    }
  }
  ctx.log.warn({ vm: row.id }, 'a DHCP NIC got no address within a minute');
}
