import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { SaveTemplateBody, type Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { templateKeys } from '../../api/queries.ts';
import { Field, inputClass } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { Button, errorText, linkClass } from '../../components/ui.tsx';
import { issuesToFields, type FieldErrors } from '../create/form.ts';

/** Saves this VM's configuration as a template (passwords never travel), then links to it. */
export function SaveTemplateButton({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const save = useMutation({
    mutationFn: () =>
      client.call('saveVmAsTemplate', { params: { id: vm.id }, body: { name: name.trim(), description } }),
    onSuccess: () => {
      setOpen(false);
      void qc.invalidateQueries({ queryKey: templateKeys.all });
    },
  });
  return (
    <>
      <Button
        onClick={() => {
          save.reset();
          setName(`${vm.name}-template`);
          setErrors({});
          setOpen(true);
        }}
      >
        Save as template
      </Button>
      {save.isSuccess && (
        <p role="status" className="w-full text-sm" data-testid="template-saved">
          Saved as template{' '}
          <Link className={linkClass} to="/templates">
            {save.data.name}
          </Link>
          .
        </p>
      )}
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Save ${vm.name} as a template`}
        description="Resources, boot source, environment, labels, user and SSH keys, and volume sizes. Passwords are not saved; give one when instantiating."
        submitLabel="Save template"
        pending={save.isPending}
        error={errorText(save.error)}
        onSubmit={() => {
          const r = SaveTemplateBody.safeParse({ name: name.trim(), description });
          setErrors(r.success ? {} : issuesToFields(r.error.issues));
          if (r.success) save.mutate();
        }}
      >
        <Field label="Template name" errors={errors.name}>
          {(a) => (
            <input
              {...a}
              className={inputClass}
              autoComplete="off"
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <Field label="Description" errors={errors.description}>
          {(a) => (
            <input
              {...a}
              className={inputClass}
              value={description}
              onChange={(e) => setDescription(e.target.value)}
            />
          )}
        </Field>
      </FormDialog>
    </>
  );
}
