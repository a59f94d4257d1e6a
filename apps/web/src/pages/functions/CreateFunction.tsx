import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { fnKeys } from '../../api/function-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { TextField } from '../../components/Field.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card, ErrorLine, errorWithHint, linkClass, PageHeader } from '../../components/ui.tsx';
import { apiFields, type FieldErrors } from '../../lib/fields.ts';
import { HearthError } from '@hearth/contract';
import { newDraft, switchRuntime, toCreateBody, type FnDraft } from './form.ts';
import { SettingsFields, SourceEditor } from './SourceFields.tsx';

/** A new function: a name, a runtime with its template handler in the editor, and its settings. */
export default function CreateFunction() {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [draft, setDraft] = useState<FnDraft>(() => newDraft());
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useApiMutation({
    call: (c, body: NonNullable<ReturnType<typeof toCreateBody>['body']>) =>
      c.call('createFunction', { body }),
    invalidate: [fnKeys.all],
    // The first version builds in the background; the function's page follows it.
    onSuccess: (f) => void navigate(`/functions/${f.name}`),
    onError: (e) => {
      if (e instanceof HearthError && e.fields) setErrors(apiFields(e.fields));
    },
  });
  return (
    <>
      <PageHeader title="New function" />
      <Card>
        <form
          noValidate
          aria-label="New function"
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            create.reset();
            const r = toCreateBody(name, draft);
            setErrors(r.errors);
            if (r.body) create.mutate(r.body);
          }}
        >
          <div className="max-w-md">
            <TextField
              label="Name"
              hint="Lowercase letters, digits and dashes."
              autoComplete="off"
              value={name}
              errors={errors.name}
              onChange={(v) => {
                setName(v);
                setErrors(({ name: _, ...rest }) => rest);
              }}
            />
          </div>
          <SettingsFields
            draft={draft}
            errors={errors}
            set={setDraft}
            onRuntime={(r) => setDraft((d) => switchRuntime(d, r))}
          />
          <SourceEditor draft={draft} set={setDraft} />
          <ErrorLine className="text-sm" message={errors.files?.join(' ')} />
          <div className="flex flex-wrap items-center gap-2">
            <RoleButton route="createFunction" type="submit" variant="primary" disabled={create.isPending}>
              {create.isPending ? 'Creating…' : 'Create and deploy'}
            </RoleButton>
            <Link className={linkClass} to="/functions">
              Cancel
            </Link>
          </div>
          {create.error && <ErrorLine className="text-sm" message={errorWithHint(create.error)} />}
        </form>
      </Card>
    </>
  );
}
