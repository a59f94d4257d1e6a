import { useState } from 'react';
import { HearthError, type FunctionInfo, type FunctionVersion } from '@hearth/contract';
import { fnKeys } from '../../api/function-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card, ErrorLine, errorWithHint } from '../../components/ui.tsx';
import { apiFields, type FieldErrors } from '../../lib/fields.ts';
import { BuildStatus } from './BuildStatus.tsx';
import { errorLine } from './code.ts';
import { toDeployBody, type FnDraft } from './form.ts';
import { SettingsFields, SourceEditor } from './SourceFields.tsx';

/**
 * The editor and the settings, and Deploy: the editor's files go as inline code, a new version
 * builds in the background and the build's state shows above the editor.
 */
export function CodeTab({
  f,
  versions,
  draft,
  setDraft,
}: {
  f: FunctionInfo;
  versions: FunctionVersion[];
  draft: FnDraft;
  setDraft(d: FnDraft): void;
}) {
  const [errors, setErrors] = useState<FieldErrors>({});
  const deploy = useApiMutation({
    call: (c, body: NonNullable<ReturnType<typeof toDeployBody>['body']>) =>
      c.call('deployFunction', { params: { name: f.name }, body }),
    invalidate: [fnKeys.all],
    onError: (e) => {
      if (e instanceof HearthError && e.fields) setErrors(apiFields(e.fields));
    },
  });
  const newest = versions[0];
  const building = newest?.state === 'building';
  const failedLine =
    newest?.state === 'failed' && !deploy.isPending ? errorLine(newest.error ?? '', draft.open) : null;
  const set = (d: FnDraft) => {
    setDraft(d);
    setErrors({});
  };
  return (
    <form
      noValidate
      aria-label="Code and settings"
      className="grid gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        deploy.reset();
        const r = toDeployBody(draft);
        setErrors(r.errors);
        if (r.body) deploy.mutate(r.body);
      }}
    >
      <div className="flex flex-wrap items-center gap-3">
        <RoleButton
          route="deployFunction"
          type="submit"
          variant="primary"
          disabled={deploy.isPending || building}
          title={building ? 'A version is building; deploy again once it is done.' : undefined}
        >
          {deploy.isPending ? 'Deploying…' : 'Deploy'}
        </RoleButton>
        <span className="text-xs text-slate-600 dark:text-slate-300">
          Deploying builds v{f.versions + 1} from the editor; live moves to it once it loads.
        </span>
      </div>
      {deploy.error && <ErrorLine className="text-sm" message={errorWithHint(deploy.error)} />}
      <BuildStatus newest={newest} live={f.aliases.live} file={draft.open} />
      <SourceEditor draft={draft} set={set} errorLine={failedLine} />
      <ErrorLine className="text-sm" message={errors.files?.join(' ')} />
      <Card title="Settings">
        <SettingsFields draft={draft} errors={errors} set={set} />
      </Card>
    </form>
  );
}
