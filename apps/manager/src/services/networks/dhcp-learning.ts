import type { Logger } from 'pino';
import { isUniqueViolation } from '../../db/index.ts';
import type { Stores } from '../../store/index.ts';

/** Whether any of the VM's NICs takes its address from a DHCP server rather than from us. */
export async function hasDhcpNics(stores: Stores, vmId: string): Promise<boolean> {
  return (await stores.networks.nicsOf(vmId)).some((n) => n.source === 'dhcp');
}

/** Records addresses DHCP guests report (matched by MAC); true when every DHCP NIC has one. */
export async function recordDhcpAddresses(
  stores: Stores,
  log: Logger,
  vmId: string,
  ips: { mac?: string | undefined; address: string }[],
): Promise<boolean> {
  const nics = await stores.networks.nicsOf(vmId);
  let done = true;
  for (const n of nics.filter((x) => x.source === 'dhcp')) {
    const seen =
      ips.find((i) => i.mac?.toLowerCase() === n.mac && /^\d+\.\d+\.\d+\.\d+$/.test(i.address))?.address ??
      null;
    if (seen && seen !== n.ip) {
      await stores.networks.learnIp(vmId, n.idx, seen).catch((e: unknown) => {
        // A stopped VM still holds that address in our records: the DHCP server knows better.
        if (!isUniqueViolation(e, 'vm_nics_ip')) throw e;
        log.warn({ vm: vmId, ip: seen }, 'a DHCP lease collides with an address another VM holds');
      });
    }
    if (!seen) done = false;
  }
  return done;
}
