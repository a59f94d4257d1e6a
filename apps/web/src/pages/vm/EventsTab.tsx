import { useQuery } from '@tanstack/react-query';
import type { Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { vmQueries } from '../../api/queries.ts';
import { Button, Card, Empty, QueryView } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';

export function EventsTab({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const events = useQuery(vmQueries.events(client, vm.id));
  const logs = useQuery(vmQueries.logs(client, vm.id));
  return (
    <div className="space-y-4">
      <Card title="Events">
        <QueryView query={events} what="events" empty={<Empty title="No events" />}>
          {(list) => (
            <div className="overflow-x-auto">
              <table className="w-full text-left text-sm">
                <thead className="text-slate-600 dark:text-slate-300">
                  <tr>
                    <th className="p-1">When</th>
                    <th className="p-1">What</th>
                    <th className="p-1">Who</th>
                    <th className="p-1">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {[...list].reverse().map((e) => (
                    <tr key={e.id} className="border-t border-slate-100 dark:border-slate-800">
                      <td className="p-1 whitespace-nowrap">{formatTime(e.at)}</td>
                      <td className="p-1">{e.type === 'state' ? `${e.from ?? '∅'} → ${e.to}` : e.type}</td>
                      <td className="p-1">{e.actor}</td>
                      <td className="p-1">{e.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryView>
      </Card>
      <Card
        title={
          <span className="flex items-center justify-between">
            Serial console log{' '}
            <Button onClick={() => void logs.refetch()} disabled={logs.isFetching}>
              Refresh
            </Button>
          </span>
        }
      >
        <QueryView
          query={logs}
          what="the console log"
          empty={<Empty title="The console log is empty" />}
          isEmpty={(text) => text === ''}
        >
          {(text) => (
            <pre
              tabIndex={0}
              aria-label="Serial console log"
              className="max-h-[32rem] overflow-auto rounded bg-slate-950 p-3 text-xs text-slate-100"
            >
              {text}
            </pre>
          )}
        </QueryView>
      </Card>
    </div>
  );
}
