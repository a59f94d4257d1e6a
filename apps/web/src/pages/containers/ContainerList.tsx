import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { Container } from '@hearth/contract';
import { containerQueries } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { inputClass } from '../../components/Field.tsx';
import { RoleLink } from '../../components/RoleButton.tsx';
import { Empty, linkClass, PageHeader, QueryView, rowClass, Table } from '../../components/ui.tsx';
import { ContainerActions } from './Actions.tsx';
import { ContainerBadge } from './Badge.tsx';
import { portsText, refreshEvery, uptimeText } from './status.ts';
import { useNow } from './use-now.ts';

function Row({ c, now }: { c: Container; now: number }) {
  return (
    <tr className={rowClass} data-container={c.name}>
      <td className="p-2">
        <Link className={`font-medium ${linkClass}`} to={`/containers/${c.id}`}>
          {c.name}
        </Link>
      </td>
      <td className="p-2">
        <ContainerBadge c={c} />
      </td>
      <td className="max-w-64 truncate p-2 font-mono text-xs" title={c.image}>
        {c.image}
      </td>
      <td className="p-2 font-mono text-xs whitespace-nowrap" data-testid="container-ports">
        {portsText(c.ports)}
      </td>
      <td className="p-2 whitespace-nowrap" data-testid="container-uptime">
        {uptimeText(c, now)}
      </td>
      <td className="p-2 tabular-nums" data-testid="container-restarts">
        {c.restarts}
      </td>
      <td className="p-2">
        <ContainerActions c={c} labelled />
      </td>
    </tr>
  );
}

/** Containers: OCI images run as the only workload of their own microVM. */
export default function ContainerList() {
  const { client } = useSession();
  const list = useQuery({ ...containerQueries.list(client), refetchInterval: refreshEvery });
  const [q, setQ] = useState('');
  const [running, setRunning] = useState(false);
  const now = useNow((list.data ?? []).some((c) => c.startedAt || c.finishedAt));
  const shown = useMemo(() => {
    const s = q.trim().toLowerCase();
    return (list.data ?? []).filter(
      (c) =>
        (!running || c.state === 'running') &&
        (!s || c.name.includes(s) || c.id.includes(s) || c.image.toLowerCase().includes(s)),
    );
  }, [list.data, q, running]);
  return (
    <>
      <PageHeader
        title="Containers"
        actions={
          <RoleLink route="createContainer" to="/containers/new">
            Run container
          </RoleLink>
        }
      />
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <label className="text-sm">
          <span className="sr-only">Search containers</span>
          <input
            type="search"
            placeholder="Search name, id or image"
            className={`${inputClass} w-64`}
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={running} onChange={(e) => setRunning(e.target.checked)} />
          Running only
        </label>
      </div>
      <QueryView
        query={list}
        what="containers"
        empty={
          <Empty title="No containers yet">
            A container runs an OCI image (<code>nginx:1.25</code>, <code>registry:5000/app:1</code>) in a
            microVM of its own.{' '}
            <Link className={linkClass} to="/containers/new">
              Run the first one
            </Link>
            , or <code>hearth run -d IMAGE</code>.
          </Empty>
        }
      >
        {() =>
          shown.length === 0 ? (
            <Empty title="No container matches" />
          ) : (
            <Table
              label="Containers"
              headers={['Name', 'State', 'Image', 'Ports', 'Uptime', 'Restarts', 'Actions']}
            >
              {shown.map((c) => (
                <Row key={c.id} c={c} now={now} />
              ))}
            </Table>
          )
        }
      </QueryView>
    </>
  );
}
