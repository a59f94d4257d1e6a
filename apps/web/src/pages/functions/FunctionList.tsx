import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { FunctionInfo } from '@hearth/contract';
import { fnQueries } from '../../api/function-queries.ts';
import { useSession } from '../../api/session.tsx';
import { RoleLink } from '../../components/RoleButton.tsx';
import { Empty, linkClass, PageHeader, QueryView, rowClass, Table } from '../../components/ui.tsx';
import { formatAgo } from '../../lib/format.ts';
import { functionState } from './code.ts';
import { FnStateBadge } from './StateBadge.tsx';

function Row({ f }: { f: FunctionInfo }) {
  const { client } = useSession();
  // The state and the last deploy are the versions' (the list answer has only their count).
  const versions = useQuery(fnQueries.versions(client, f.name));
  const live = f.aliases.live;
  const newest = versions.data?.[0];
  return (
    <tr className={rowClass} data-function={f.name}>
      <td className="p-2">
        <Link className={`font-medium ${linkClass}`} to={`/functions/${f.name}`}>
          {f.name}
        </Link>
      </td>
      <td className="p-2 font-mono text-xs">{f.runtime}</td>
      <td className="p-2 font-mono text-xs">{f.handler}</td>
      <td className="p-2 tabular-nums" data-testid="fn-live">
        {live === undefined ? '—' : `v${live}`}
      </td>
      <td className="p-2">
        {versions.data ? <FnStateBadge state={functionState(versions.data, live)} /> : '…'}
      </td>
      <td className="p-2 whitespace-nowrap" data-testid="fn-last-deploy">
        {newest ? `v${newest.version}, ${formatAgo(newest.createdAt)}` : '—'}
      </td>
      <td className="p-2 tabular-nums">{f.instances}</td>
    </tr>
  );
}

/** Functions: handlers in Node.js, Python or Ruby, run on microVMs restored from a snapshot. */
export default function FunctionList() {
  const { client } = useSession();
  const list = useQuery({
    ...fnQueries.list(client),
    select: (p) => p.items,
    // Instances come and go with invocations and idle time, which no event reports.
    refetchInterval: 10_000,
  });
  return (
    <>
      <PageHeader
        title="Functions"
        actions={
          <RoleLink route="createFunction" to="/functions/new">
            New function
          </RoleLink>
        }
      />
      <QueryView
        query={list}
        what="functions"
        empty={
          <Empty title="No functions yet">
            A function is a handler (<code>async (event, context)</code> in Node.js, Python or Ruby) run on
            demand in a microVM restored from a snapshot.{' '}
            <Link className={linkClass} to="/functions/new">
              Create the first one
            </Link>
            , or <code>hearth fn deploy ./dir --runtime node22 --handler index.handler</code>.
          </Empty>
        }
      >
        {(items) => (
          <Table
            label="Functions"
            headers={['Name', 'Runtime', 'Handler', 'Live', 'State', 'Last deploy', 'Instances']}
          >
            {items.map((f) => (
              <Row key={f.id} f={f} />
            ))}
          </Table>
        )}
      </QueryView>
    </>
  );
}
