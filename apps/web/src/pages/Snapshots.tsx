import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useSession } from '../api/session.tsx';
import { snapshotQueries, vmQueries } from '../api/queries.ts';
import { Empty, linkClass, PageHeader, QueryView, rowClass, Table } from '../components/ui.tsx';
import { formatBytes, formatTime } from '../lib/format.ts';
import { CloneButton, DeleteSnapshotButton } from './snapshots/actions.tsx';
import { lineage } from './snapshots/lineage.ts';
import { Schedules } from './snapshots/Schedules.tsx';

/** Every snapshot, as a lineage forest: a VM restored or cloned from one snapshots into its child. */
export default function Snapshots() {
  const { client } = useSession();
  const snaps = useQuery(snapshotQueries.list(client));
  const vms = useQuery(vmQueries.list(client));
  const nameOf = (id: string) => snaps.data?.find((s) => s.id === id)?.name ?? id;
  return (
    <>
      <PageHeader title="Snapshots" />
      <p className="mb-4 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
        Memory, device state and disk of a VM at one instant, or (kind disk) its disks only, which restore by
        a cold boot. Take one, or restore a VM in place, from the VM&apos;s Snapshots tab; a clone is a new
        VM. Indented rows were taken of VMs restored or cloned from the row above.
      </p>
      <QueryView
        query={snaps}
        what="snapshots"
        empty={
          <Empty title="No snapshots yet">
            Open a running VM and take one from its{' '}
            <Link className={linkClass} to="/vms">
              Snapshots tab
            </Link>
            .
          </Empty>
        }
      >
        {(list) => (
          <Table
            label="Snapshots"
            headers={['Name', 'VM', 'Kind', 'State', 'Size', 'VMM', 'Created', 'Children', 'Actions']}
          >
            {lineage(list).map(({ snap: s, depth }) => {
              const vm = s.vm ? vms.data?.find((v) => v.id === s.vm) : undefined;
              return (
                <tr
                  key={s.id}
                  id={s.id}
                  className={`${rowClass} target:bg-blue-50 dark:target:bg-blue-950`}
                  data-snapshot={s.name}
                >
                  <td className="p-2 font-medium" style={{ paddingLeft: `${0.5 + depth * 1.5}rem` }}>
                    {depth > 0 && (
                      <span aria-hidden className="mr-1 text-slate-500">
                        ↳
                      </span>
                    )}
                    {s.name}
                    {s.parent && <span className="sr-only">, from {nameOf(s.parent)}</span>}
                  </td>
                  <td className="p-2">
                    {s.vm ? (
                      <Link className={linkClass} to={`/vms/${s.vm}/snapshots`}>
                        {vm?.name ?? s.vmName}
                      </Link>
                    ) : (
                      <span title={`was ${s.vmName}`}>{s.vmName} (deleted)</span>
                    )}
                  </td>
                  <td className="p-2">{s.kind}</td>
                  <td className="p-2">{s.state}</td>
                  <td className="p-2 whitespace-nowrap">{formatBytes(s.sizeBytes)}</td>
                  <td className="p-2 whitespace-nowrap">
                    {s.vmm} {s.vmmVersion}
                  </td>
                  <td className="p-2 whitespace-nowrap">{formatTime(s.createdAt)}</td>
                  <td className="p-2">{s.children.length ? s.children.map(nameOf).join(', ') : '—'}</td>
                  <td className="p-2">
                    <div className="flex flex-wrap gap-2">
                      <CloneButton snap={s} />
                      <DeleteSnapshotButton snap={s} />
                    </div>
                  </td>
                </tr>
              );
            })}
          </Table>
        )}
      </QueryView>
      <Schedules />
    </>
  );
}
