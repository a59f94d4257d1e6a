import { useState } from 'react';
import { useInfiniteQuery } from '@tanstack/react-query';
import type { AuditRecord } from '@hearth/contract';
import { useAccess } from '../../api/access.ts';
import { identityQueries, type AuditFilters } from '../../api/identity-queries.ts';
import { useSession } from '../../api/session.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { Button, Empty, ErrorState, Loading, PageHeader, rowClass, Table } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';

const OUTCOME_COLOR: Record<AuditRecord['outcome'], string> = {
  success: 'text-green-800 dark:text-green-300',
  failure: 'text-red-700 dark:text-red-300',
  denied: 'text-amber-800 dark:text-amber-300',
};

function Row({ r }: { r: AuditRecord }) {
  return (
    <tr className={rowClass} data-audit={r.action}>
      <td className="p-2 whitespace-nowrap">{formatTime(r.at)}</td>
      <td className="p-2">
        {r.actor.name} <span className="text-xs text-slate-600 dark:text-slate-300">({r.actor.kind})</span>
      </td>
      <td className="p-2 font-mono text-xs">{r.action}</td>
      <td className="p-2 break-all">{r.target ?? '—'}</td>
      <td className="p-2">{r.project ?? 'platform'}</td>
      <td className={`p-2 font-medium ${OUTCOME_COLOR[r.outcome]}`}>
        {r.outcome}
        {r.code && <span className="block font-mono text-xs">{r.code}</span>}
      </td>
      <td className="p-2">{r.source ?? '—'}</td>
      <td className="p-2 font-mono text-xs">{r.requestId ?? '—'}</td>
    </tr>
  );
}

/** The audit trail of the current project (administrators: everything), newest first, filtered. */
export default function Audit() {
  const { client } = useSession();
  const { admin, project } = useAccess();
  const [draft, setDraft] = useState<AuditFilters>({ actor: '', action: '', outcome: '', all: false });
  const [filters, setFilters] = useState(draft);
  const audit = useInfiniteQuery(identityQueries.audit(client, filters));
  const records = audit.data?.pages.flatMap((p) => p.items) ?? [];
  const set = (k: 'actor' | 'action') => (v: string) => setDraft((d) => ({ ...d, [k]: v }));
  return (
    <>
      <PageHeader title="Audit" />
      <p className="mb-4 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
        Every change and every sign-in in project {project}: who, from where, what, on what, and how it ended.
        Request secrets are never recorded.
      </p>
      <form
        role="search"
        aria-label="Audit filters"
        className="mb-4 grid items-end gap-3 sm:grid-cols-[1fr_1fr_10rem_auto_auto]"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <TextField label="Actor" value={draft.actor} onChange={set('actor')} hint="User name or id." />
        <TextField
          label="Action"
          value={draft.action}
          onChange={set('action')}
          hint="A route id: createVm, login…"
        />
        <SelectField
          label="Outcome"
          value={draft.outcome}
          onChange={(v) => setDraft((d) => ({ ...d, outcome: v as AuditFilters['outcome'] }))}
        >
          <option value="">any</option>
          <option value="success">success</option>
          <option value="failure">failure</option>
          <option value="denied">denied</option>
        </SelectField>
        {admin ? (
          <label className="flex items-center gap-2 pb-2 text-sm">
            <input
              type="checkbox"
              checked={draft.all}
              onChange={(e) => setDraft((d) => ({ ...d, all: e.target.checked }))}
            />
            All projects
          </label>
        ) : (
          <span />
        )}
        <Button type="submit" variant="primary">
          Filter
        </Button>
      </form>
      {audit.isError ? (
        <ErrorState error={audit.error} retry={() => void audit.refetch()} />
      ) : audit.isPending ? (
        <Loading what="audit records" />
      ) : records.length === 0 ? (
        <Empty title="No audit records match" />
      ) : (
        <>
          <Table
            label="Audit records"
            headers={['Time', 'Actor', 'Action', 'Target', 'Project', 'Outcome', 'Source', 'Request']}
          >
            {records.map((r) => (
              <Row key={r.id} r={r} />
            ))}
          </Table>
          {audit.hasNextPage && (
            <Button
              className="mt-3"
              disabled={audit.isFetchingNextPage}
              onClick={() => void audit.fetchNextPage()}
            >
              {audit.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </Button>
          )}
        </>
      )}
    </>
  );
}
