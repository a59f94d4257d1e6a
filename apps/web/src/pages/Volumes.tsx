import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { CreateVolumeBody, HearthError, type Vm, type Volume } from '@hearth/contract';
import { useApiMutation } from '../api/mutation.ts';
import { useSession } from '../api/session.tsx';
import { hostQueries, imageQueries, volumeKeys, volumeQueries, vmQueries } from '../api/queries.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { SelectField, TextField } from '../components/Field.tsx';
import { FormDialog } from '../components/FormDialog.tsx';
import {
  Button,
  Card,
  Empty,
  ErrorLine,
  errorText,
  linkClass,
  PageHeader,
  QueryView,
  rowClass,
  Table,
  Why,
} from '../components/ui.tsx';
import { formatMib, formatTime } from '../lib/format.ts';
import { issuesToFields, type FieldErrors } from './create/form.ts';
import { attachTargets, resizeError, volumeBlockers } from './volumes/attach.ts';
import { RoleButton } from '../components/RoleButton.tsx';

function useHostName() {
  const { client } = useSession();
  const hosts = useQuery(hostQueries.list(client));
  return (id: string) => hosts.data?.find((h) => h.id === id)?.name ?? id;
}

const fieldsOf = (e: unknown): FieldErrors =>
  e instanceof HearthError
    ? (e.fields ??
      (e.code === 'VOLUME_NAME_TAKEN'
        ? { name: [e.message] }
        : e.code === 'IMAGE_NOT_FOUND'
          ? { image: [e.message] }
          : {}))
    : {};

function CreateVolume() {
  const { client } = useSession();
  const images = useQuery(imageQueries.list(client));
  const [form, setForm] = useState({ name: '', size: '1gb', format: 'ext4' as 'ext4' | 'raw', image: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const body = {
    name: form.name.trim(),
    size: form.size.trim() || undefined,
    format: form.format,
    ...(form.image ? { image: form.image } : {}),
  };
  const create = useApiMutation({
    call: (c) => c.call('createVolume', { body }),
    invalidate: [volumeKeys.all],
    onSuccess: () => setForm((f) => ({ ...f, name: '' })),
    onError: (e) => setErrors(fieldsOf(e)),
  });
  const set = (k: keyof typeof form, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors(({ [k]: _, ...rest }) => rest);
  };
  const general =
    create.isError && !Object.keys(fieldsOf(create.error)).length ? errorText(create.error) : null;
  return (
    <Card title="Create a volume">
      <form
        noValidate
        className="grid gap-4 md:grid-cols-2 xl:grid-cols-4"
        onSubmit={(e) => {
          e.preventDefault();
          // The contract's own schema, as the API checks it.
          const r = CreateVolumeBody.safeParse(body);
          const errs = r.success ? {} : issuesToFields(r.error.issues);
          setErrors(errs);
          if (r.success) create.mutate();
        }}
      >
        <TextField
          label="Volume name"
          errors={errors.name}
          hint="Lowercase letters, digits and dashes."
          autoComplete="off"
          value={form.name}
          onChange={(v) => set('name', v)}
        />
        <TextField
          label="Size"
          errors={errors.size}
          hint="Such as 1gb or 512mib; at least the image's size."
          value={form.size}
          onChange={(v) => set('size', v)}
        />
        <SelectField
          label="Format"
          errors={errors.format}
          hint="ext4: a fresh filesystem; raw: empty blocks."
          value={form.format}
          onChange={(v) => set('format', v)}
        >
          <option value="ext4">ext4</option>
          <option value="raw">raw</option>
        </SelectField>
        <SelectField
          label="Start from image"
          errors={errors.image}
          hint="Optional: a copy of a rootfs image (ext4)."
          value={form.image}
          onChange={(v) => set('image', v)}
        >
          <option value="">Empty</option>
          {(images.data ?? [])
            .filter((i) => i.kind === 'rootfs' && i.status === 'ready')
            .map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
        </SelectField>
        <div className="flex items-center gap-3 md:col-span-2 xl:col-span-4">
          <RoleButton route="createVolume" type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create volume'}
          </RoleButton>
          <ErrorLine className="text-sm" message={general} />
        </div>
      </form>
    </Card>
  );
}

function AttachButton({ volume, vms }: { volume: Volume; vms: Vm[] }) {
  const hostName = useHostName();
  const [open, setOpen] = useState(false);
  const [vm, setVm] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const targets = attachTargets(volume, vms, hostName);
  const attach = useApiMutation({
    call: (client) => client.call('attachVolume', { params: { id: volume.id }, body: { vm, readOnly } }),
    invalidate: [volumeKeys.all],
    onSuccess: () => setOpen(false),
  });
  const valid = targets.filter((t) => !t.reason);
  return (
    <>
      <Button
        aria-label={`Attach ${volume.name}`}
        disabled={!!volume.attachedTo}
        onClick={() => {
          attach.reset();
          setVm(valid[0]?.vm.id ?? '');
          setOpen(true);
        }}
      >
        Attach
      </Button>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Attach ${volume.name}`}
        description={`Only VMs that are stopped (or never started) on host ${hostName(volume.host)} can take it: neither VMM hot-plugs disks here. The guest sees it at its next start, with serial ${volume.serial}.`}
        submitLabel="Attach"
        pending={attach.isPending}
        error={
          errorText(attach.error) ??
          (valid.length ? null : 'No VM can take this volume now; the reasons are listed.')
        }
        onSubmit={() => vm && attach.mutate()}
      >
        <SelectField label="VM" value={vm} onChange={setVm}>
          {targets.map((t) => (
            <option key={t.vm.id} value={t.vm.id} disabled={!!t.reason}>
              {t.vm.name}
              {t.reason ? ` — ${t.reason}` : ''}
            </option>
          ))}
        </SelectField>
        {targets.some((t) => t.reason) && (
          <div className="text-sm">
            <p className="font-medium">Not possible now</p>
            <ul
              className="mt-1 list-disc pl-5 text-slate-700 dark:text-slate-200"
              data-testid="attach-refused"
            >
              {targets
                .filter((t) => t.reason)
                .map((t) => (
                  <li key={t.vm.id}>
                    {t.vm.name}: {t.reason}
                  </li>
                ))}
            </ul>
          </div>
        )}
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} />{' '}
          Read-only
        </label>
      </FormDialog>
    </>
  );
}

function ResizeButton({ volume, blocked }: { volume: Volume; blocked: string | null }) {
  const [open, setOpen] = useState(false);
  const [size, setSize] = useState('');
  const [check, setCheck] = useState<string | null>(null);
  const resize = useApiMutation({
    call: (client) => client.call('resizeVolume', { params: { id: volume.id }, body: { size: size.trim() } }),
    invalidate: [volumeKeys.all],
    onSuccess: () => setOpen(false),
  });
  return (
    <>
      <Button
        aria-label={`Resize ${volume.name}`}
        disabled={!!blocked}
        title={blocked ?? undefined}
        onClick={() => {
          resize.reset();
          setCheck(null);
          setSize(`${Math.ceil((volume.sizeMib * 2) / 1024)}gb`);
          setOpen(true);
        }}
      >
        Resize
      </Button>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title={`Resize ${volume.name}`}
        description={`Now ${formatMib(volume.sizeMib)}. Volumes only grow${volume.format === 'ext4' ? '; the ext4 filesystem grows with it' : ''}.`}
        submitLabel="Resize"
        pending={resize.isPending}
        error={errorText(resize.error)}
        onSubmit={() => {
          const err = resizeError(volume, size);
          setCheck(err);
          if (!err) resize.mutate();
        }}
      >
        <TextField label="New size" errors={check ? [check] : undefined} value={size} onChange={setSize} />
      </FormDialog>
    </>
  );
}

function VolumeRow({ volume, vms }: { volume: Volume; vms: Vm[] }) {
  const hostName = useHostName();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const attachedVm = vms.find((v) => v.id === volume.attachedTo);
  const blockers = volumeBlockers(volume, attachedVm);
  const detach = useApiMutation({
    call: (client) => client.call('detachVolume', { params: { id: volume.id } }),
    invalidate: [volumeKeys.all],
  });
  const del = useApiMutation({
    call: (client) => client.call('deleteVolume', { params: { id: volume.id } }),
    invalidate: [volumeKeys.all],
  });
  const failure = errorText(detach.error ?? del.error);
  const whyId = `why-${volume.id}`;
  return (
    <tr className={rowClass} data-volume={volume.name}>
      <td className="p-2 font-medium">{volume.name}</td>
      <td className="p-2 whitespace-nowrap">{formatMib(volume.sizeMib)}</td>
      <td className="p-2">{volume.format}</td>
      <td className="p-2">{hostName(volume.host)}</td>
      <td className="p-2" data-testid="volume-attached">
        {volume.attachedTo ? (
          <Link className={linkClass} to={`/vms/${volume.attachedTo}/storage`}>
            {attachedVm?.name ?? volume.attachedTo}
          </Link>
        ) : (
          'detached'
        )}
      </td>
      <td className="p-2">
        <code>{volume.serial}</code>
      </td>
      <td className="p-2 whitespace-nowrap">{formatTime(volume.createdAt)}</td>
      <td className="p-2">
        <div className="flex flex-wrap gap-2">
          {volume.attachedTo ? (
            <Button
              aria-label={`Detach ${volume.name}`}
              disabled={!!blockers.detach || detach.isPending}
              aria-describedby={whyId}
              onClick={() => detach.mutate()}
            >
              Detach
            </Button>
          ) : (
            <AttachButton volume={volume} vms={vms} />
          )}
          <ResizeButton volume={volume} blocked={blockers.resize} />
          <Button
            variant="danger"
            aria-label={`Delete ${volume.name}`}
            disabled={!!blockers.delete || del.isPending}
            aria-describedby={whyId}
            onClick={() => setConfirmDelete(true)}
          >
            Delete
          </Button>
        </div>
        <Why id={whyId} reason={blockers.delete ?? (volume.attachedTo ? blockers.detach : null)} />
        <ErrorLine message={failure} />
        <ConfirmDialog
          open={confirmDelete}
          onOpenChange={setConfirmDelete}
          title={`Delete volume ${volume.name}?`}
          confirmLabel="Delete"
          danger
          onConfirm={() => del.mutate()}
        >
          Its {formatMib(volume.sizeMib)} of data are removed from the host for good.
        </ConfirmDialog>
      </td>
    </tr>
  );
}

/** Data disks: made on one host, attached to stopped VMs there, grown, detached, deleted. */
export default function Volumes() {
  const { client } = useSession();
  const volumes = useQuery(volumeQueries.list(client));
  const vms = useQuery(vmQueries.list(client));
  return (
    <>
      <PageHeader title="Volumes" />
      <div className="space-y-4">
        <CreateVolume />
        <QueryView
          query={volumes}
          what="volumes"
          empty={
            <Empty title="No volumes yet">
              Create one above; it lives on one host and attaches to VMs there.
            </Empty>
          }
        >
          {(list) => (
            <Table
              label="Volumes"
              headers={[
                'Name',
                'Size',
                'Format',
                'Host',
                'Attached to',
                'Guest serial',
                'Created',
                'Actions',
              ]}
            >
              {list.map((v) => (
                <VolumeRow key={v.id} volume={v} vms={vms.data ?? []} />
              ))}
            </Table>
          )}
        </QueryView>
      </div>
    </>
  );
}
