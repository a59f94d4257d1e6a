import { useState } from 'react';
import { Link } from 'react-router';
import { SaveTemplateBody, type Vm } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { templateKeys } from '../../api/queries.ts';
import { TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { errorText, linkClass } from '../../components/ui.tsx';
import { issuesToFields, type FieldErrors } from '../create/form.ts';
import { RoleButton } from '../../components/RoleButton.tsx';

/** Saves this VM's configuration as a template (passwords never travel), then links to it. */
export function SaveTemplateButton({ vm }: { vm: Vm }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const save = useApiMutation({
    call: (client) =>
      client.call('saveVmAsTemplate', { params: { id: vm.id }, body: { name: name.trim(), description } }),
    invalidate: [templateKeys.all],
    onSuccess: () => setOpen(false),
  });
  return (
    <>
      <RoleButton
        route="saveVmAsTemplate"
        onClick={() => {
          save.reset();
          setName(`${vm.name}-template`);
          setErrors({});
          setOpen(true);
        }}
      >
        Save as template
      </RoleButton>
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
        <TextField
          label="Template name"
          errors={errors.name}
          autoComplete="off"
          value={name}
          onChange={setName}
        />
        <TextField
          label="Description"
          errors={errors.description}
          value={description}
          onChange={setDescription}
        />
      </FormDialog>
    </>
  );
}
