import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useSession } from '../../api/session.tsx';
import { hostQueries, networkQueries } from '../../api/queries.ts';
import {
  Badge,
  Card,
  Detail,
  Empty,
  ErrorState,
  linkClass,
  Loading,
  PageHeader,
  QueryView,
  rowClass,
  Table,
} from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';

function Leases({ id }: { id: string }) {
  const { client } = useSession();
  const leases = useQuery(networkQueries.leases(client, id));
  const hosts = useQuery(hostQueries.list(client));
  const hostName = (h: string | null) =>
    h ? (hosts.data?.find((x) => x.id === h)?.name ?? h) : 'not placed';
  return (
    <Card title="Leases">
      <QueryView
        query={leases}
        what="leases"
        empty={<Empty title="No leases">No VM has a NIC on this network.</Empty>}
      >
        {(list) => (
          <Table label="Leases" headers={['VM', 'NIC', 'MAC', 'IP address', 'Source', 'Host']}>
            {list.map((l) => (
              <tr key={`${l.vmId}-${l.nic}`} className={rowClass} data-lease={`${l.vmName}/${l.nic}`}>
                <td className="p-2 font-medium">
                  <Link className={linkClass} to={`/vms/${l.vmId}/network`}>
                    {l.vmName}
                  </Link>
                </td>
                <td className="p-2">{l.nic}</td>
                <td className="p-2">
                  <code>{l.mac}</code>
                </td>
                <td className="p-2">{l.ip ?? 'waiting for the guest’s DHCP'}</td>
                <td className="p-2">{l.source === 'dhcp' ? 'DHCP (reported by the guest)' : 'IPAM'}</td>
                <td className="p-2">{hostName(l.host)}</td>
              </tr>
            ))}
          </Table>
        )}
      </QueryView>
    </Card>
  );
}

/** One network (`/networks/{id}`): its settings and the addresses in use, one per VM NIC. */
export default function NetworkDetail() {
  const { id = '' } = useParams();
  const { client } = useSession();
  const network = useQuery(networkQueries.detail(client, id));
  const back = (
    <Link className={linkClass} to="/networks">
      All networks
    </Link>
  );
  if (network.isError) {
    return (
      <>
        <PageHeader title="Network" />
        <ErrorState error={network.error} retry={() => void network.refetch()} />
        <p className="mt-3">{back}</p>
      </>
    );
  }
  if (network.isPending) return <Loading what="the network" />;
  const n = network.data;
  return (
    <>
      <PageHeader
        title={
          <span className="flex items-center gap-3">
            Network {n.name} {n.isDefault && <Badge>default</Badge>}
          </span>
        }
        actions={back}
      />
      <div className="space-y-4">
        <Card>
          <Detail
            items={[
              ['Mode', n.mode],
              ['Subnet', n.cidr ?? 'none: guests take addresses from the LAN’s DHCP'],
              ['Gateway', n.gateway ?? 'none'],
              ['DNS servers', n.dns.length ? n.dns.join(', ') : 'none'],
              ['Bridge', <code key="b">{n.bridge}</code>],
              ...(n.interface ? ([['Host interface', n.interface]] as [string, string][]) : []),
              ...(n.vlan ? ([['VLAN', String(n.vlan)]] as [string, string][]) : []),
              ...(n.vni ? ([['VNI', String(n.vni)]] as [string, string][]) : []),
              ...(n.port ? ([['UDP port', String(n.port)]] as [string, string][]) : []),
              ...(n.mode === 'nat' || n.mode === 'bridged'
                ? ([['Cloud metadata (169.254.0.0/16)', n.allowMetadata ? 'reachable' : 'blocked']] as [
                    string,
                    string,
                  ][])
                : []),
              ['Host features', n.requires.join(', ') || '—'],
              ['VMs', n.vmCount],
              ['Created', formatTime(n.createdAt)],
              ['Id', <code key="id">{n.id}</code>],
            ]}
          />
        </Card>
        <Leases id={n.id} />
      </div>
    </>
  );
}
