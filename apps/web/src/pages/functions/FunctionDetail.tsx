import { useState } from 'react';
import * as Tabs from '@radix-ui/react-tabs';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useNavigate, useParams } from 'react-router';
import type { FunctionInfo } from '@hearth/contract';
import { fnKeys, fnQueries } from '../../api/function-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { useSession } from '../../api/session.tsx';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { DetailError, DetailTabs } from '../../components/DetailPage.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card, Detail, ErrorLine, errorText, Loading, PageHeader } from '../../components/ui.tsx';
import { formatMib } from '../../lib/format.ts';
import { CodeTab } from './CodeTab.tsx';
import { draftOf, type FnDraft } from './form.ts';
import { InvokeTab } from './InvokeTab.tsx';
import { LogsTab } from './LogsTab.tsx';
import { FunctionMetrics } from './Metrics.tsx';
import { FnStateBadge } from './StateBadge.tsx';
import { functionState } from './code.ts';
import { VersionsTab } from './VersionsTab.tsx';

const TABS = [
  ['code', 'Code'],
  ['test', 'Test'],
  ['versions', 'Versions'],
  ['logs', 'Logs'],
] as const;

function Summary({ f }: { f: FunctionInfo }) {
  const trigger = `${location.origin}/fn/${f.project}/${f.name}/`;
  return (
    <Card className="mb-4">
      <div className="grid gap-2 md:grid-cols-2">
        <Detail
          items={[
            ['Runtime', <code key="r">{f.runtime}</code>],
            ['Handler', <code key="h">{f.handler}</code>],
            [
              'Live',
              <span key="l" data-testid="fn-live">
                {f.aliases.live ? `v${f.aliases.live}` : '—'}
              </span>,
            ],
            ['Versions', String(f.versions)],
          ]}
        />
        <Detail
          items={[
            [
              'Size',
              `${f.config.vcpus} vCPU · ${formatMib(f.config.memoryMib)} · ${f.config.timeoutS} s timeout`,
            ],
            ['Instances', `${f.instances} running (${f.config.minInstances} to ${f.config.maxInstances})`],
            ['HTTP trigger', <code key="t">{trigger}</code>],
            ['Access', f.config.public ? 'public' : 'token or session with the operator role'],
          ]}
        />
      </div>
    </Card>
  );
}

/**
 * The editor's text outlives tab switches: it is the page's. Until the first edit it is the
 * newest version's code (what was last deployed, a failed version's too, so that it can be fixed).
 */
function useDraft(name: string, f: FunctionInfo | undefined, newest: number | undefined) {
  const { client } = useSession();
  const [edited, setDraft] = useState<FnDraft | null>(null);
  const code = useQuery({
    ...fnQueries.code(client, name, newest ?? 0),
    enabled: !edited && newest !== undefined,
    // A deploy makes a newer version: the editor keeps the text it had while that one loads.
    placeholderData: keepPreviousData,
  });
  const draft = edited ?? (f && code.data ? draftOf(f, code.data) : null);
  return { draft, setDraft, error: code.error };
}

export default function FunctionDetail() {
  const { name = '', tab = 'code' } = useParams();
  const { client } = useSession();
  const navigate = useNavigate();
  const q = useQuery({ ...fnQueries.detail(client, name), refetchInterval: 10_000 });
  const versions = useQuery(fnQueries.versions(client, name));
  const { draft, setDraft, error } = useDraft(name, q.data, versions.data?.[0]?.version);
  const [removing, setRemoving] = useState(false);
  const remove = useApiMutation({
    call: (c) => c.call('deleteFunction', { params: { name } }),
    invalidate: [fnKeys.list()],
    onSuccess: () => void navigate('/functions'),
  });
  if (q.isError) {
    return (
      <DetailError
        title="Function"
        error={q.error}
        retry={() => void q.refetch()}
        back={{ to: '/functions', label: 'All functions' }}
      />
    );
  }
  if (q.isPending || versions.isPending) return <Loading what="the function" />;
  const f = q.data;
  const vs = versions.data ?? [];
  return (
    <>
      <PageHeader
        title={
          <span className="flex items-center gap-3">
            {f.name} <FnStateBadge state={functionState(vs, f.aliases.live)} />
          </span>
        }
        actions={
          <RoleButton route="deleteFunction" variant="danger" onClick={() => setRemoving(true)}>
            Delete
          </RoleButton>
        }
      />
      <ErrorLine className="mb-2 text-sm" message={errorText(remove.error ?? error)} />
      <Summary f={f} />
      <FunctionMetrics f={f} />
      <DetailTabs label="Function sections" base={`/functions/${name}`} tab={tab} tabs={TABS}>
        <Tabs.Content value="code">
          {draft ? (
            <CodeTab f={f} versions={vs} draft={draft} setDraft={setDraft} />
          ) : (
            <Loading what="the code" />
          )}
        </Tabs.Content>
        <Tabs.Content value="test">
          <InvokeTab f={f} versions={vs} />
        </Tabs.Content>
        <Tabs.Content value="versions">
          <VersionsTab f={f} versions={vs} />
        </Tabs.Content>
        <Tabs.Content value="logs">
          <LogsTab f={f} />
        </Tabs.Content>
      </DetailTabs>
      <ConfirmDialog
        open={removing}
        onOpenChange={setRemoving}
        title={`Delete function ${f.name}?`}
        confirmLabel="Delete function"
        danger
        onConfirm={() => remove.mutate()}
      >
        Its instances stop, and its versions, snapshots and logs are removed.
      </ConfirmDialog>
    </>
  );
}
