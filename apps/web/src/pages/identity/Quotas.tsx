import { useState } from 'react';
import type { Project } from '@hearth/contract';
import { identityKeys } from '../../api/identity-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card } from '../../components/ui.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { errorText } from '../../components/ui.tsx';
import { QUOTA_LABEL, quotaInputs, quotaPatch, quotaRows, type QuotaInputs, type QuotaRow } from './forms.ts';

function QuotaBar({ row }: { row: QuotaRow }) {
  return (
    <div className="text-sm" data-quota={row.name}>
      <div className="flex justify-between">
        <span>{row.label}</span>
        <span className="text-slate-600 dark:text-slate-300">
          {row.used} / {row.limit ?? 'no limit'}
        </span>
      </div>
      {row.pct !== null && (
        <div
          role="meter"
          aria-label={`${row.label} used`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={row.pct}
          aria-valuetext={`${row.used} of ${row.limit}`}
          className="mt-1 h-2 rounded bg-slate-200 dark:bg-slate-700"
        >
          <div
            className={`h-2 rounded ${row.pct >= 100 ? 'bg-red-600' : row.pct > 85 ? 'bg-amber-500' : 'bg-blue-600'}`}
            style={{ width: `${row.pct}%` }}
          />
        </div>
      )}
    </div>
  );
}

/** A project's quotas against its usage (from getProject); administrators edit them. */
export function Quotas({ project }: { project: Project }) {
  const [open, setOpen] = useState(false);
  const [inputs, setInputs] = useState<QuotaInputs>(() => quotaInputs(project.quotas));
  const [errors, setErrors] = useState<FieldErrors>({});
  const save = useApiMutation({
    call: (c, quotas: Project['quotas']) =>
      c.call('patchProject', { params: { id: project.name }, body: { quotas } }),
    invalidate: [identityKeys.project(project.name), identityKeys.projects],
    onSuccess: () => setOpen(false),
  });
  const submit = () => {
    const r = quotaPatch(inputs, project.quotas);
    setErrors(r.errors ?? {});
    if (r.quotas) save.mutate(r.quotas);
  };
  return (
    <Card title="Quotas">
      <div className="grid gap-3 sm:grid-cols-2">
        {quotaRows(project.quotas, project.usage).map((row) => (
          <QuotaBar key={row.name} row={row} />
        ))}
      </div>
      <RoleButton
        className="mt-4"
        route="patchProject"
        project={project.name}
        onClick={() => {
          setInputs(quotaInputs(project.quotas));
          setErrors({});
          setOpen(true);
        }}
      >
        Edit quotas
      </RoleButton>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Quotas of ${project.name}`}
        description="Creates beyond a limit are refused with QUOTA_EXCEEDED. Leave an input blank for no limit."
        submitLabel="Save quotas"
        pending={save.isPending}
        error={errorText(save.error)}
        onSubmit={submit}
      >
        <div className="grid gap-3 sm:grid-cols-2">
          {(Object.keys(QUOTA_LABEL) as (keyof QuotaInputs)[]).map((n) => (
            <TextField
              key={n}
              label={QUOTA_LABEL[n]}
              inputMode="numeric"
              value={inputs[n]}
              errors={errors[n]}
              onChange={(v) => setInputs((i) => ({ ...i, [n]: v }))}
            />
          ))}
        </div>
      </FormDialog>
    </Card>
  );
}
