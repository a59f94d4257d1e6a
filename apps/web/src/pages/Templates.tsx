import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { HearthError, RUNTIMES, runtimeImageName, type Template } from '@hearth/contract';
import { useApiMutation } from '../api/mutation.ts';
import { useSession } from '../api/session.tsx';
import { imageQueries, networkQueries, templateKeys, templateQueries, vmKeys } from '../api/queries.ts';
import { ConfirmButton } from '../components/ConfirmDialog.tsx';
import { SelectField, TextAreaField, TextField } from '../components/Field.tsx';
import { FormDialog } from '../components/FormDialog.tsx';
import {
  Button,
  Card,
  Empty,
  ErrorLine,
  errorText,
  errorWithHint,
  PageHeader,
  QueryView,
  rowClass,
  Table,
} from '../components/ui.tsx';
import { formatTime } from '../lib/format.ts';
import { egressText } from './vm/network-text.ts';
import { alertsFor, type CreateForm } from './create/form.ts';
import { ResourcesStep } from './create/Steps.tsx';
import { dropErrors, type FieldErrors } from '../lib/fields.ts';
import { EgressBandwidthFields, NicsEditor } from './networks/VmNetFields.tsx';
import { ERROR_KEY } from './networks/vm-net.ts';
import {
  emptyTemplateForm,
  specSummary,
  templateFields,
  toInstantiateBody,
  toTemplateBody,
  validateInstantiate,
  validateTemplate,
  type InstantiateForm,
  type TemplateForm,
} from './templates/form.ts';
import { currentProject } from '../api/project.tsx';
import { RoleButton } from '../components/RoleButton.tsx';

const CODE_FIELD: Record<string, string> = { TEMPLATE_NAME_TAKEN: 'templateName' };

type TextKey = 'templateName' | 'description' | 'user' | 'env' | 'sshKeys' | 'volumes';

/**
 * From scratch: the wizard's own inputs (resources, boot, networks, egress and bandwidth, env,
 * user and keys) plus volumes.
 */
function CreateTemplate({ onDone }: { onDone(): void }) {
  const { client } = useSession();
  const images = useQuery(imageQueries.list(client));
  const networks = useQuery({ ...networkQueries.list(client), refetchOnMount: 'always' });
  const [form, setForm] = useState<TemplateForm>(() => ({
    ...emptyTemplateForm,
    project: currentProject() ?? emptyTemplateForm.project,
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const set = <K extends keyof TemplateForm>(k: K, v: TemplateForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => dropErrors(e, ERROR_KEY[k] ?? k));
  };
  const create = useApiMutation({
    call: (c) => c.call('createTemplate', { body: toTemplateBody(form) }),
    invalidate: [templateKeys.all],
    onSuccess: onDone,
    onError: (e) => {
      const field = e instanceof HearthError ? CODE_FIELD[e.code] : undefined;
      const fields = e instanceof HearthError && e.fields ? templateFields(e.fields) : {};
      setErrors(field ? { [field]: [e.message] } : fields);
    },
  });
  const text = (k: TextKey, label: string, hint?: string) => (
    <TextField
      label={label}
      hint={hint}
      errors={errors[k]}
      autoComplete="off"
      value={form[k]}
      onChange={(v) => set(k, v)}
    />
  );
  const area = (k: TextKey, label: string, hint: string) => (
    <TextAreaField label={label} hint={hint} errors={errors[k]} value={form[k]} onChange={(v) => set(k, v)} />
  );
  const pick = (k: 'image' | 'kernel', label: string, kind: string) => (
    <SelectField label={label} errors={errors[k]} value={form[k]} onChange={(v) => set(k, v)}>
      <option value="">Built-in default</option>
      {kind === 'rootfs' &&
        RUNTIMES.filter((r) => r !== 'base').map((r) => (
          <option key={r} value={runtimeImageName(r)}>
            {runtimeImageName(r)} (built on first use)
          </option>
        ))}
      {(images.data ?? [])
        .filter(
          (i) =>
            i.kind === kind && i.status === 'ready' && !(kind === 'rootfs' && i.name.startsWith('runtime-')),
        )
        .map((i) => (
          <option key={i.id} value={i.name}>
            {i.name}
          </option>
        ))}
    </SelectField>
  );
  return (
    <Card title="New template">
      <form
        noValidate
        className="grid max-w-4xl gap-4 md:grid-cols-2"
        onSubmit={(e) => {
          e.preventDefault();
          create.reset();
          const errs = validateTemplate(form, networks.data);
          setErrors(errs);
          if (!Object.keys(errs).length) create.mutate();
        }}
      >
        {text('templateName', 'Template name', 'Lowercase letters, digits and dashes.')}
        {text('description', 'Description')}
        <ResourcesStep
          form={form}
          set={set as <K extends keyof CreateForm>(k: K, v: CreateForm[K]) => void}
          errors={errors}
        />
        {pick('image', 'Root filesystem image', 'rootfs')}
        {pick('kernel', 'Kernel', 'kernel')}
        {area('env', 'Environment variables', 'One NAME=value per line.')}
        {text(
          'user',
          'User',
          'Created in each instance; default root. Passwords are given at instantiate, never stored.',
        )}
        {area('sshKeys', 'SSH public keys', 'One OpenSSH public key per line.')}
        {area('volumes', 'Volumes', 'Fresh volumes per instance, one per line: 2gb or 2gb raw.')}
        <div className="md:col-span-2">
          <NicsEditor
            nics={form.nics}
            onChange={(n) => set('nics', n)}
            networks={networks.data ?? []}
            listError={networks.isError ? networks.error.message : undefined}
            errors={errors}
            withIp={false}
          />
          <p className="mt-1 text-xs text-slate-600 dark:text-slate-300">
            Each VM made from the template gets its own addresses. Published ports are set per VM (a host port
            belongs to one VM), on its Network tab.
          </p>
        </div>
        <EgressBandwidthFields value={form} set={(k, v) => set(k, v as never)} errors={errors} />
        <div className="flex items-center gap-2 md:col-span-2">
          <RoleButton route="createTemplate" type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? 'Saving…' : 'Save template'}
          </RoleButton>
          <Button onClick={onDone}>Cancel</Button>
          <ErrorLine className="text-sm" message={alertsFor(create.error) && errorWithHint(create.error)} />
        </div>
      </form>
    </Card>
  );
}

function InstantiateButton({ t }: { t: Template }) {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState<InstantiateForm>({ count: '1', namePrefix: '', password: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const run = useApiMutation({
    call: (client) =>
      client.call('instantiateTemplate', { params: { id: t.id }, body: toInstantiateBody(form) }),
    invalidate: [vmKeys.all],
    onSuccess: () => {
      setOpen(false);
      navigate(`/vms`);
    },
  });
  const set = (k: keyof InstantiateForm, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors(({ [k]: _, ...rest }) => rest);
  };
  return (
    <>
      <Button
        aria-label={`Instantiate ${t.name}`}
        variant="primary"
        onClick={() => {
          run.reset();
          setOpen(true);
        }}
      >
        Instantiate
      </Button>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`New VMs from ${t.name}`}
        description={`${specSummary(t.spec)}. All or nothing: if one VM cannot be made, none are.`}
        submitLabel="Create VMs"
        pending={run.isPending}
        error={errorText(run.error)}
        onSubmit={() => {
          const errs = validateInstantiate(form);
          setErrors(errs);
          if (!Object.keys(errs).length) run.mutate();
        }}
      >
        <TextField
          label="How many"
          errors={errors.count}
          type="number"
          min={1}
          max={50}
          value={form.count}
          onChange={(v) => set('count', v)}
        />
        <TextField
          label="Name prefix"
          hint={`VMs are named <prefix>-1, <prefix>-2, …; default ${t.name}.`}
          errors={errors.namePrefix}
          autoComplete="off"
          value={form.namePrefix}
          onChange={(v) => set('namePrefix', v)}
        />
        <TextField
          label="Password"
          hint={`For ${t.spec.user ?? 'root'} in every VM; not stored in the template.`}
          errors={errors.password}
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={(v) => set('password', v)}
        />
      </FormDialog>
    </>
  );
}

function DeleteTemplateButton({ t }: { t: Template }) {
  const del = useApiMutation({
    call: (client) => client.call('deleteTemplate', { params: { id: t.id } }),
    invalidate: [templateKeys.all],
  });
  return (
    <ConfirmButton
      label="Delete"
      button={{ variant: 'danger', 'aria-label': `Delete ${t.name}` }}
      error={del.error}
      title={`Delete template ${t.name}?`}
      confirmLabel="Delete"
      danger
      onConfirm={() => del.mutate()}
    >
      VMs made from it earlier are not affected.
    </ConfirmButton>
  );
}

/** Saved VM configurations: written here or saved from a VM's page, instantiated into new VMs. */
export default function Templates() {
  const { client } = useSession();
  const templates = useQuery(templateQueries.list(client));
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Templates"
        actions={
          !creating && (
            <RoleButton route="createTemplate" variant="primary" onClick={() => setCreating(true)}>
              New template
            </RoleButton>
          )
        }
      />
      <div className="space-y-4">
        {creating && <CreateTemplate onDone={() => setCreating(false)} />}
        <QueryView
          query={templates}
          what="templates"
          empty={
            <Empty title="No templates yet">
              Write one here, or use “Save as template” on a VM&apos;s page.
            </Empty>
          }
        >
          {(list) => (
            <Table
              label="Templates"
              headers={[
                'Name',
                'Description',
                'Resources',
                'Boot',
                'Networks',
                'User',
                'Volumes',
                'Updated',
                'Actions',
              ]}
            >
              {list.map((t) => (
                <tr key={t.id} className={rowClass} data-template={t.name}>
                  <td className="p-2 font-medium">{t.name}</td>
                  <td className="p-2">{t.description || '—'}</td>
                  <td className="p-2 whitespace-nowrap">{specSummary(t.spec)}</td>
                  <td className="p-2">
                    {t.spec.image ?? 'built-in image'}
                    {t.spec.vmm ? ` on ${t.spec.vmm}` : ''}
                  </td>
                  <td className="p-2" data-testid="template-networks">
                    {(t.spec.networks ?? [t.spec.network]).join(', ')}
                    {t.spec.egress && egressText(t.spec.egress) !== 'allow all'
                      ? `; egress ${egressText(t.spec.egress)}`
                      : ''}
                    {t.spec.bandwidthMbit ? `; ${t.spec.bandwidthMbit} Mbit/s` : ''}
                  </td>
                  <td className="p-2">
                    {t.spec.user ?? 'root'}
                    {t.spec.sshKeys?.length ? `, ${t.spec.sshKeys.length} SSH key(s)` : ''}
                  </td>
                  <td className="p-2">
                    {t.spec.volumes.length
                      ? t.spec.volumes.map((v) => `${v.size} ${v.format}`).join(', ')
                      : '—'}
                  </td>
                  <td className="p-2 whitespace-nowrap">{formatTime(t.updatedAt)}</td>
                  <td className="p-2">
                    <div className="flex flex-wrap gap-2">
                      <InstantiateButton t={t} />
                      <DeleteTemplateButton t={t} />
                    </div>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </QueryView>
      </div>
    </>
  );
}
