import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { hostQueries, imageQueries, vmQueries, volumeQueries } from '../../api/queries.ts';
import { Card, Detail, Empty, linkClass, QueryView, rowClass, Table } from '../../components/ui.tsx';
import { formatDuration, formatMib, formatTime } from '../../lib/format.ts';
import { bandwidthText, egressText, nicsText } from './network-text.ts';
import { TrafficPolicyCard } from './TrafficPolicy.tsx';
import { ProxyLinksCard } from './ProxyLinks.tsx';
import { BootProfileCard } from './BootProfileCard.tsx';

/** Uptime counts up in the browser from startedAt, instead of refetching the VM every second. */
function Uptime({ vm }: { vm: Vm }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (vm.state !== 'running') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [vm.state]);
  if (vm.state !== 'running' || !vm.startedAt) return <>—</>;
  return <>{formatDuration((now - Date.parse(vm.startedAt)) / 1000)}</>;
}

function useNames() {
  const { client } = useSession();
  const hosts = useQuery(hostQueries.list(client));
  const images = useQuery(imageQueries.list(client));
  return {
    host: (id: string | null) => (id ? (hosts.data?.find((h) => h.id === id)?.name ?? id) : '—'),
    image: (id: string) => images.data?.find((i) => i.id === id)?.name ?? id,
  };
}

export function OverviewTab({ vm }: { vm: Vm }) {
  const names = useNames();
  return (
    <div className="space-y-4">
      <Card>
        <Detail
          items={[
            ['State', `${vm.state}${vm.desiredState !== vm.state ? ` (wanted: ${vm.desiredState})` : ''}`],
            ['Reason', vm.stateReason],
            ['IP address', vm.ip],
            [
              'Networks',
              <Link key="n" className={linkClass} to={`/vms/${vm.id}/network`}>
                {nicsText(vm)}
              </Link>,
            ],
            ['Egress', egressText(vm.egress)],
            ['Bandwidth', bandwidthText(vm.bandwidthMbit)],
            [
              'Host',
              vm.host ? (
                <Link key="h" className="text-blue-700 underline dark:text-blue-300" to="/hosts">
                  {names.host(vm.host)}
                </Link>
              ) : (
                '—'
              ),
            ],
            ['VMM', vm.vmm ? `${vm.vmm}${vm.accel ? ` (${vm.accel})` : ''}` : '—'],
            [
              'Pool',
              vm.pool ? (
                <Link key="p" className={linkClass} to="/pools">
                  {vm.pool}
                </Link>
              ) : (
                '—'
              ),
            ],
            ['Uptime', <Uptime key="u" vm={vm} />],
            ['Created', formatTime(vm.createdAt)],
            ['Id', <code key="id">{vm.id}</code>],
          ]}
        />
      </Card>
      <BootProfileCard vm={vm} />
    </div>
  );
}

export function ConfigTab({ vm }: { vm: Vm }) {
  const names = useNames();
  const pairs = (r: Record<string, string>) =>
    Object.keys(r).length
      ? Object.entries(r)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')
      : '—';
  return (
    <Card>
      <Detail
        items={[
          ['Project', vm.project],
          ['vCPUs', vm.vcpus],
          ['Memory', formatMib(vm.memoryMib)],
          ['Image', names.image(vm.image)],
          ['Kernel', names.image(vm.kernel)],
          ['Users', vm.users.length ? vm.users.join(', ') : 'root'],
          ['Environment', pairs(vm.env)],
          ['Labels', pairs(vm.labels)],
          [
            'Auto stop',
            vm.timeout ? `${vm.timeout}${vm.stopAt ? ` (at ${formatTime(vm.stopAt)})` : ''}` : 'never',
          ],
        ]}
      />
      <details className="mt-4 text-sm">
        <summary className="cursor-pointer">As JSON (GET /v1/vms/{vm.id})</summary>
        <pre className="mt-2 overflow-x-auto rounded bg-slate-100 p-3 text-xs dark:bg-slate-800">
          {JSON.stringify(vm, null, 2)}
        </pre>
      </details>
    </Card>
  );
}

export function StorageTab({ vm }: { vm: Vm }) {
  const names = useNames();
  const { client } = useSession();
  const volumes = useQuery(volumeQueries.forVm(client, vm.id));
  return (
    <div className="space-y-4">
      <Card title="Root disk">
        <Detail
          items={[
            ['Size', formatMib(vm.diskMib)],
            ['From image', names.image(vm.image)],
            ['Kind', 'sparse copy of the image, grown to size'],
          ]}
        />
      </Card>
      <Card title="Volumes">
        <QueryView
          query={volumes}
          what="volumes"
          empty={
            <p className="text-sm text-slate-600 dark:text-slate-300">
              No volumes attached. Attach one from the{' '}
              <Link className={linkClass} to="/volumes">
                Volumes page
              </Link>{' '}
              while this VM is stopped.
            </p>
          }
        >
          {(list) => (
            <Table label="Attached volumes" headers={['Name', 'Size', 'Format', 'Guest serial']}>
              {list.map((v) => (
                <tr key={v.id} className={rowClass}>
                  <td className="p-2 font-medium">{v.name}</td>
                  <td className="p-2">{formatMib(v.sizeMib)}</td>
                  <td className="p-2">{v.format}</td>
                  <td className="p-2">
                    <code>{v.serial}</code> <span className="text-xs">(/sys/block/vdX/serial)</span>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </QueryView>
      </Card>
    </div>
  );
}

export function NetworkTab({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const guest = useQuery({ ...vmQueries.guest(client, vm.id), enabled: vm.state === 'running' });
  return (
    <div className="space-y-4">
      <Card title="Interfaces">
        {vm.networks.length ? (
          <Table label="Network interfaces" headers={['NIC', 'Network', 'MAC', 'IP address']}>
            {vm.networks.map((n, i) => (
              <tr key={`${n.network}-${i}`} className={rowClass} data-nic={i}>
                <td className="p-2">{i}</td>
                <td className="p-2 font-medium">
                  <Link className={linkClass} to={`/networks/${n.network}`}>
                    {n.networkName}
                  </Link>
                </td>
                <td className="p-2">
                  <code>{n.mac}</code>
                </td>
                <td className="p-2">{n.ip ?? 'by DHCP, not reported yet'}</td>
              </tr>
            ))}
          </Table>
        ) : (
          <Empty title="No network interfaces">This VM was created without a network.</Empty>
        )}
      </Card>
      <TrafficPolicyCard vm={vm} />
      <ProxyLinksCard vm={vm} />
      <Card title="In the guest">
        <Detail
          items={[
            ['Hostname', guest.data?.hostname ?? (vm.state === 'running' ? '…' : '—')],
            [
              'Guest interfaces',
              vm.state !== 'running'
                ? 'shown while the VM runs'
                : guest.isError
                  ? `the guest agent did not answer: ${guest.error.message}`
                  : (guest.data?.ips.map((i) => `${i.iface} ${i.address}/${i.prefix}`).join(', ') ?? '…'),
            ],
          ]}
        />
      </Card>
    </div>
  );
}
