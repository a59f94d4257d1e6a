import { useQuery } from '@tanstack/react-query';
import type { Container } from '@hearth/contract';
import { containerQueries } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { Card, Empty, QueryView, rowClass, Table } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';

/** What happened to the container (pulls, starts, exits, restarts, health), newest first. */
export function EventsTab({ c }: { c: Container }) {
  const { client } = useSession();
  // VM changes refetch them (the stream); a slow refresh catches an event without one.
  const events = useQuery({ ...containerQueries.events(client, c.id), refetchInterval: 5000 });
  return (
    <QueryView query={events} what="events" empty={<Empty title="No events yet" />}>
      {(list) => (
        <Table label="Container events" headers={['When', 'What', 'Details']}>
          {[...list].reverse().map((e) => (
            <tr key={e.seq} className={rowClass} data-event={e.type}>
              <td className="p-2 whitespace-nowrap">{formatTime(e.at)}</td>
              <td className="p-2">{e.type}</td>
              <td className="p-2">{e.message}</td>
            </tr>
          ))}
        </Table>
      )}
    </QueryView>
  );
}

/** The record as the API returns it (`hearth inspect`, `docker inspect`). */
export function InspectTab({ c }: { c: Container }) {
  return (
    <Card title={`GET /v1/containers/${c.id}`}>
      <pre
        tabIndex={0}
        aria-label="Container as JSON"
        className="overflow-x-auto rounded bg-slate-100 p-3 text-xs dark:bg-slate-800"
      >
        {JSON.stringify(c, null, 2)}
      </pre>
    </Card>
  );
}
