import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { PoolMode, type Pool } from '@hearth/contract';
import { useAccess } from '../api/access.ts';
import { useApiMutation } from '../api/mutation.ts';
import { currentProject } from '../api/project.tsx';
import { imageQueries, networkQueries, poolKeys, poolQueries, templateQueries } from '../api/queries.ts';
import { useSession } from '../api/session.tsx';
import { ConfirmButton } from '../components/ConfirmDialog.tsx';
import { SelectField, TextField } from '../components/Field.tsx';
import { FormDialog } from '../components/FormDialog.tsx';
import { RoleButton } from '../components/RoleButton.tsx';
import {
  Button,
  Card,
  Empty,
  ErrorLine,
  errorText,
  errorWithHint,
  linkClass,
  PageHeader,
  QueryView,
  rowClass,
  Table,
} from '../components/ui.tsx';
import type { FieldErrors } from '../lib/fields.ts';
import {
  checkSize,
  emptyPoolForm,
  hitRateText,
  poolFieldsOf,
  poolSpecText,
  toPoolBody,
  validatePool,
  type PoolForm,
} from './pools/form.ts';

const MODE_HINT: Record<Pool['mode'], string> = {
  booted: 'Each VM boots from the spec, waits running and is handed out in milliseconds.',
  snapshot:
    'One VM boots and is snapshotted; the others are restored from it (faster refills), and wait running.',
};

function CreatePool({ onDone }: { onDone(): void }) {
  const { client } = useSession();
  const images = useQuery(imageQueries.list(client));
  const templates = useQuery(templateQueries.list(client));
  const networks = useQuery({ ...networkQueries.list(client), refetchOnMount: 'always' });
  const [form, setForm] = useState<PoolForm>(() => ({
    ...emptyPoolForm,
    project: currentProject() ?? emptyPoolForm.project,
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const set = (k: keyof PoolForm, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors(({ [k]: _, ...rest }) => rest);
  };
  const create = useApiMutation({
    call: (c) => c.call('createPool', { body: toPoolBody(form) }),
    invalidate: [poolKeys.all],
    onSuccess: onDone,
    onError: (e) => setErrors(poolFieldsOf(e)),
  });
  const rootfs = (images.data ?? []).filter((i) => i.kind === 'rootfs' && i.status === 'ready');
  return (
    <Card title="New pool">
      <form
        noValidate
        className="grid max-w-4xl gap-4 md:grid-cols-2"
        onSubmit={(e) => {
          e.preventDefault();
          create.reset();
          const errs = validatePool(form);
          setErrors(errs);
          if (!Object.keys(errs).length) create.mutate();
        }}
      >
        <TextField
          label="Pool name"
          hint="Lowercase letters, digits and dashes; `create` names it with `pool`."
          errors={errors.name}
          autoComplete="off"
          value={form.name}
          onChange={(v) => set('name', v)}
        />
        <SelectField
          label="Mode"
          hint={MODE_HINT[form.mode]}
          errors={errors.mode}
          value={form.mode}
          onChange={(v) => set('mode', v)}
        >
          {PoolMode.options.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Size"
          hint="How many VMs to keep ready (0 to 64). They count against the project's quota."
          errors={errors.size}
          type="number"
          min={0}
          max={64}
          inputMode="numeric"
          value={form.size}
          onChange={(v) => set('size', v)}
        />
        <SelectField
          label="Template"
          hint="Optional: its spec is the base, the inputs below override it."
          errors={errors.template}
          value={form.template}
          onChange={(v) => set('template', v)}
        >
          <option value="">None</option>
          {(templates.data ?? []).map((t) => (
            <option key={t.id} value={t.name}>
              {t.name}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Root filesystem image"
          errors={errors.image}
          value={form.image}
          onChange={(v) => set('image', v)}
        >
          <option value="">Built-in default</option>
          {rootfs.map((i) => (
            <option key={i.id} value={i.name}>
              {i.name}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Network"
          hint="The network of the single NIC; default the NAT network."
          errors={errors.network}
          value={form.network}
          onChange={(v) => set('network', v)}
        >
          <option value="">Default network</option>
          {(networks.data ?? []).map((n) => (
            <option key={n.id} value={n.name}>
              {n.name}
            </option>
          ))}
        </SelectField>
        <TextField
          label="vCPUs"
          hint="Empty: the template's, else 1."
          errors={errors.vcpus}
          type="number"
          min={1}
          inputMode="numeric"
          value={form.vcpus}
          onChange={(v) => set('vcpus', v)}
        />
        <TextField
          label="Memory (MiB)"
          hint="Empty: the template's, else 128."
          errors={errors.memoryMib}
          type="number"
          min={64}
          inputMode="numeric"
          value={form.memoryMib}
          onChange={(v) => set('memoryMib', v)}
        />
        <div className="flex items-center gap-2 md:col-span-2">
          <RoleButton route="createPool" type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create pool'}
          </RoleButton>
          <Button onClick={onDone}>Cancel</Button>
          <ErrorLine className="text-sm" message={errorWithHint(create.error)} />
        </div>
      </form>
    </Card>
  );
}

function ResizeButton({ pool }: { pool: Pool }) {
  const [open, setOpen] = useState(false);
  const [size, setSize] = useState(String(pool.size));
  const [error, setError] = useState<string | null>(null);
  const resize = useApiMutation({
    call: (c, n: number) => c.call('patchPool', { params: { id: pool.id }, body: { size: n } }),
    invalidate: [poolKeys.all],
    onSuccess: () => setOpen(false),
  });
  return (
    <>
      <RoleButton
        route="patchPool"
        aria-label={`Resize ${pool.name}`}
        onClick={() => {
          resize.reset();
          setSize(String(pool.size));
          setError(null);
          setOpen(true);
        }}
      >
        Resize
      </RoleButton>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Resize pool ${pool.name}`}
        description={`Now ${pool.size}: ${pool.ready} ready, ${pool.warming} warming. A larger pool boots more VMs in the background; a smaller one deletes waiting VMs.`}
        submitLabel="Resize"
        pending={resize.isPending}
        error={errorText(resize.error)}
        onSubmit={() => {
          const r = checkSize(size);
          if ('error' in r) return setError(r.error);
          setError(null);
          resize.mutate(r.size);
        }}
      >
        <TextField
          label="New size"
          errors={error ? [error] : undefined}
          type="number"
          min={0}
          max={64}
          inputMode="numeric"
          value={size}
          onChange={(v) => {
            setSize(v);
            setError(null);
          }}
        />
      </FormDialog>
    </>
  );
}

function DeletePoolButton({ pool }: { pool: Pool }) {
  const denied = useAccess().deny('deletePool');
  const del = useApiMutation({
    call: (c) => c.call('deletePool', { params: { id: pool.id } }),
    invalidate: [poolKeys.all],
  });
  return (
    <ConfirmButton
      label="Delete"
      button={{
        variant: 'danger',
        'aria-label': `Delete ${pool.name}`,
        disabled: denied !== null || del.isPending,
        title: denied ?? undefined,
      }}
      error={del.error}
      title={`Delete pool ${pool.name}?`}
      confirmLabel="Delete"
      danger
      onConfirm={() => del.mutate()}
    >
      Its {pool.ready + pool.warming} waiting or warming VM(s) are deleted. VMs already handed out from it are
      not touched.
    </ConfirmButton>
  );
}

/** Warm pools: VMs booted ahead of time, handed out by a create that names the pool. */
export default function Pools() {
  const { client } = useSession();
  const pools = useQuery(poolQueries.list(client));
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Pools"
        actions={
          !creating && (
            <RoleButton route="createPool" variant="primary" onClick={() => setCreating(true)}>
              New pool
            </RoleButton>
          )
        }
      />
      <div className="space-y-4">
        {creating && <CreatePool onDone={() => setCreating(false)} />}
        <QueryView
          query={pools}
          what="pools"
          empty={
            <Empty title="No pools yet">
              A pool keeps VMs booted ahead of time; a create that names it (
              <code>hearth create --pool NAME</code>, or “From a warm pool” in the{' '}
              <Link className={linkClass} to="/vms/new">
                wizard
              </Link>
              ) gets one in milliseconds.
            </Empty>
          }
        >
          {(list) => (
            <Table
              label="Pools"
              headers={[
                'Name',
                'Mode',
                'Spec',
                'Size',
                'Ready',
                'Warming',
                'Hit rate',
                'Last error',
                'Actions',
              ]}
            >
              {list.map((p) => (
                <tr key={p.id} className={rowClass} data-pool={p.name}>
                  <td className="p-2 font-medium">{p.name}</td>
                  <td className="p-2">{p.mode}</td>
                  <td className="p-2">{poolSpecText(p)}</td>
                  <td className="p-2 tabular-nums" data-testid="pool-size">
                    {p.size}
                  </td>
                  <td className="p-2 tabular-nums" data-testid="pool-ready">
                    {p.ready}
                  </td>
                  <td className="p-2 tabular-nums" data-testid="pool-warming">
                    {p.warming}
                  </td>
                  <td className="p-2 whitespace-nowrap" data-testid="pool-hit-rate">
                    {hitRateText(p)}
                  </td>
                  <td className="p-2 text-red-700 dark:text-red-300" data-testid="pool-error">
                    {p.lastError ?? '—'}
                  </td>
                  <td className="p-2">
                    <div className="flex flex-wrap gap-2">
                      <ResizeButton pool={p} />
                      <DeletePoolButton pool={p} />
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
