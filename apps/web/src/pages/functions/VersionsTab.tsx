import { useState } from 'react';
import type { FunctionInfo, FunctionVersion } from '@hearth/contract';
import { fnKeys } from '../../api/function-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { ConfirmDialog } from '../../components/ConfirmDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Badge, ErrorLine, errorWithHint, rowClass, Table } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';
import { FnStateBadge } from './StateBadge.tsx';

/** The aliases pointing at each version (`live`, and any other). */
function aliasesOf(aliases: Record<string, number>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [a, v] of Object.entries(aliases)) out.set(v, [...(out.get(v) ?? []), a]);
  return out;
}

/** Versions newest first with their aliases; a ready version that is not live can be made live. */
export function VersionsTab({ f, versions }: { f: FunctionInfo; versions: FunctionVersion[] }) {
  const [target, setTarget] = useState<number | null>(null);
  const rollback = useApiMutation({
    call: (c, version: number) =>
      c.call('rollbackFunction', { params: { name: f.name }, body: { version, alias: 'live' } }),
    invalidate: [fnKeys.all],
  });
  const byVersion = aliasesOf(f.aliases);
  return (
    <>
      {rollback.error && <ErrorLine className="mb-2 text-sm" message={errorWithHint(rollback.error)} />}
      <Table
        label="Versions"
        headers={['Version', 'State', 'Aliases', 'Deployed', 'Build', 'Error', 'Actions']}
      >
        {versions.map((v) => (
          <tr key={v.version} className={rowClass} data-version={v.version}>
            <td className="p-2 font-medium tabular-nums">v{v.version}</td>
            <td className="p-2">
              <FnStateBadge state={v.state} testId="version-state" />
            </td>
            <td className="p-2" data-testid="version-aliases">
              {(byVersion.get(v.version) ?? []).map((a) => (
                <Badge key={a} className="mr-1">
                  {a}
                </Badge>
              ))}
            </td>
            <td className="p-2 whitespace-nowrap">{formatTime(v.createdAt)}</td>
            <td className="p-2 tabular-nums">
              {v.buildMs === null ? '—' : `${(v.buildMs / 1000).toFixed(1)} s`}
            </td>
            <td className="max-w-md truncate p-2 font-mono text-xs" title={v.error ?? undefined}>
              {v.error?.split('\n')[0] ?? '—'}
            </td>
            <td className="p-2">
              {v.state === 'ready' && f.aliases.live !== v.version && (
                <RoleButton
                  route="rollbackFunction"
                  disabled={rollback.isPending}
                  onClick={() => setTarget(v.version)}
                >
                  Make v{v.version} live
                </RoleButton>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <ConfirmDialog
        open={target !== null}
        onOpenChange={(o) => !o && setTarget(null)}
        title={`Make v${target ?? ''} live?`}
        confirmLabel={`Make v${target ?? ''} live`}
        onConfirm={() => target !== null && rollback.mutate(target)}
      >
        Invocations and the HTTP trigger run v{target} from now on; instances of v{f.aliases.live} stop once
        idle. Deploying again moves live to the new version.
      </ConfirmDialog>
    </>
  );
}
