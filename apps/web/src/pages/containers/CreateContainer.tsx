import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useApiMutation } from '../../api/mutation.ts';
import { currentProject } from '../../api/project.tsx';
import { containerKeys } from '../../api/queries.ts';
import { SelectField, TextAreaField, TextField } from '../../components/Field.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card, ErrorLine, errorWithHint, linkClass, PageHeader } from '../../components/ui.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { alertsFor } from '../create/form.ts';
import {
  containerFieldsOf,
  emptyContainerForm,
  toContainerBody,
  validateContainer,
  type ContainerForm,
} from './form.ts';
import { HealthFields } from './HealthFields.tsx';

const RESTART_HINT: Record<ContainerForm['restart'], string> = {
  no: 'An app that exits stays exited.',
  always: 'Started again whenever it exits, with back-off.',
  'unless-stopped': 'Like always, but not after you stop it.',
  'on-failure': 'Started again after a non-zero exit, at most “max retries” times.',
};

/** Run a container: an image reference and what Docker users give `docker run`. */
export default function CreateContainer() {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [form, setForm] = useState<ContainerForm>(() => ({
    ...emptyContainerForm,
    project: currentProject() ?? '',
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const set = <K extends keyof ContainerForm>(k: K, v: ContainerForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors(({ [k]: _, ...rest }) => rest);
  };
  const create = useApiMutation({
    call: (c) => c.call('createContainer', { body: toContainerBody(form) }),
    invalidate: [containerKeys.all],
    onSuccess: (c) => {
      qc.setQueryData(containerKeys.detail(c.id), c);
      void navigate(`/containers/${c.id}`);
    },
    onError: (e) => setErrors(containerFieldsOf(e, form)),
  });
  const field = (k: keyof ContainerForm) => ({
    errors: errors[k],
    value: form[k] as string,
    onChange: (v: string) => set(k, v),
  });
  return (
    <>
      <PageHeader title="Run a container" />
      <Card>
        <form
          noValidate
          aria-label="Run a container"
          className="grid max-w-4xl gap-4 md:grid-cols-2"
          onSubmit={(e) => {
            e.preventDefault();
            create.reset();
            const errs = validateContainer(form);
            setErrors(errs);
            if (!Object.keys(errs).length) create.mutate();
          }}
        >
          <TextField
            label="Image"
            hint="A registry reference (nginx:1.25, registry.internal:5000/app:1) or an imported image's name. Pulled with progress when needed."
            autoComplete="off"
            spellCheck={false}
            {...field('image')}
          />
          <SelectField label="Pull" {...field('pull')}>
            <option value="missing">when no imported image has it</option>
            <option value="always">always</option>
            <option value="never">never (an imported image only)</option>
          </SelectField>
          <TextField
            label="Name"
            hint="Lowercase letters, digits and dashes; generated when empty."
            autoComplete="off"
            {...field('name')}
          />
          <div className="grid grid-cols-2 gap-4">
            <TextField
              label="vCPUs"
              hint="Default 1."
              type="number"
              min={1}
              inputMode="numeric"
              {...field('vcpus')}
            />
            <TextField
              label="Memory (MiB)"
              hint="Default 256."
              type="number"
              min={64}
              inputMode="numeric"
              {...field('memoryMib')}
            />
          </div>
          <TextAreaField
            label="Ports"
            hint="HOST:CONTAINER a line, like 8080:80 or 5353:53/udp (docker run -p)."
            {...field('ports')}
          />
          <TextAreaField
            label="Volumes"
            hint="VOLUME:/path a line, :ro for read-only. A volume that does not exist is created (1 GiB)."
            {...field('volumes')}
          />
          <TextAreaField
            label="Environment"
            hint="NAME=value a line; these win over the image's ENV."
            {...field('env')}
          />
          <TextAreaField
            label="Environment from secrets"
            hint="NAME=secret-name a line: the value comes from the project's secret, never shown."
            {...field('secretEnv')}
          />
          <SelectField label="Restart policy" hint={RESTART_HINT[form.restart]} {...field('restart')}>
            {(['no', 'always', 'unless-stopped', 'on-failure'] as const).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </SelectField>
          {form.restart === 'on-failure' ? (
            <TextField
              label="Max retries"
              hint="Empty: no limit."
              type="number"
              min={0}
              inputMode="numeric"
              {...field('maxRetries')}
            />
          ) : (
            <div />
          )}
          <HealthFields form={form} errors={errors} set={set} />
          <div className="flex flex-wrap items-center gap-2 md:col-span-2">
            <RoleButton route="createContainer" type="submit" variant="primary" disabled={create.isPending}>
              {create.isPending ? 'Creating…' : 'Run container'}
            </RoleButton>
            <Link className={linkClass} to="/containers">
              Cancel
            </Link>
            {alertsFor(create.error) && (
              <ErrorLine className="w-full text-sm" message={errorWithHint(create.error)} />
            )}
          </div>
        </form>
      </Card>
    </>
  );
}
