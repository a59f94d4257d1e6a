import { DNS_DOMAIN, type AgentNic } from '@hearth/contract';

/** Names a guest resolver already answers itself: a VM or alias by such a name is not published. */
const RESERVED = new Set(['localhost']);

/**
 * The names a network's DNS forwarder publishes for one VM's address there. On a project's own
 * network every VM belongs to that project: the bare name and `<name>.<network>.hearth`. A shared
 * network (no project, such as the default one) carries VMs of several projects, which may each
 * have a `db`: there only `<name>.<project>.<network>.hearth` is published, so no project's VM
 * can answer for a name another project's guests look up.
 */
export function nicDnsNames(
  vm: { name: string; project: string; dnsAliases: readonly string[] },
  net: { name: string; project: string | null },
): Pick<AgentNic, 'dnsNames' | 'dnsAliases'> {
  const forms = (label: string): string[] => {
    if (RESERVED.has(label)) return [];
    return net.project === null
      ? [`${label}.${vm.project}.${net.name}.${DNS_DOMAIN}`]
      : [`${label}.${net.name}.${DNS_DOMAIN}`, label];
  };
  const aliases = [...new Set(vm.dnsAliases)].filter((a) => a !== vm.name);
  return { dnsNames: forms(vm.name), dnsAliases: aliases.flatMap(forms) };
}
