import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { CreateImageBody, HearthError, type Image } from '@hearth/contract';
import { useApiMutation } from '../api/mutation.ts';
import { useSession } from '../api/session.tsx';
import { imageKeys, imageQueries, vmQueries } from '../api/queries.ts';
import { ImportProgressView, Progress, useImport } from '../components/Progress.tsx';
import { MAX_BROWSER_UPLOAD_BYTES, sha256Hex, uploadClient } from '../api/upload.ts';
import { ConfirmButton } from '../components/ConfirmDialog.tsx';
import { Field, inputClass, SelectField, TextField } from '../components/Field.tsx';
import {
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
import { formatBytes, formatTime } from '../lib/format.ts';
import { issuesToFields, type FieldErrors } from './create/form.ts';
import { RoleButton } from '../components/RoleButton.tsx';

const nameFromFile = (f: string) =>
  f
    .toLowerCase()
    .replace(/\.(img|ext4|raw)$/, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 128);

/**
 * Upload: hash in the browser (the API refuses content that does not match the declared sha256),
 * declare the image, then PUT the file with progress.
 */
function Upload() {
  const { client, token } = useSession();
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [form, setForm] = useState({
    name: '',
    kind: 'rootfs' as 'rootfs' | 'kernel' | 'initrd',
    format: 'ext4',
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [phase, setPhase] = useState<{ label: string; value: number | null } | null>(null);
  const tooBig = file && file.size > MAX_BROWSER_UPLOAD_BYTES;
  const upload = useMutation({
    mutationFn: async (f: File) => {
      setPhase({ label: `Hashing ${f.name} (sha256, in this browser)`, value: null });
      const sha256 = await sha256Hex(f);
      const body = { ...form, name: form.name.trim(), sha256, sizeBytes: f.size };
      const image = await client.call('createImage', { body });
      setPhase({ label: `Uploading ${f.name}`, value: 0 });
      const up = uploadClient(token, (sent, total) =>
        setPhase({ label: `Uploading ${f.name}`, value: total ? Math.round((sent / total) * 100) : null }),
      );
      const res = await up.raw(
        'uploadImageContent',
        { params: { id: image.id } },
        { body: f, headers: { 'content-type': 'application/octet-stream' } },
      );
      return (await res.json()) as Image;
    },
    onSuccess: () => setFile(null),
    onError: (e) => e instanceof HearthError && e.fields && setErrors(issuesToFieldsFromApi(e.fields)),
    onSettled: () => {
      setPhase(null);
      void qc.invalidateQueries({ queryKey: imageKeys.all });
    },
  });
  const set = (k: keyof typeof form, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors(({ [k]: _, ...rest }) => rest);
  };
  return (
    <Card title="Upload an image">
      <form
        noValidate
        className="grid gap-4 md:grid-cols-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (!file) return setErrors({ file: ['choose a file'] });
          const r = CreateImageBody.safeParse({ ...form, name: form.name.trim(), sha256: '0'.repeat(64) });
          const errs = r.success ? {} : issuesToFields(r.error.issues);
          setErrors(errs);
          if (r.success && !tooBig) upload.mutate(file);
        }}
      >
        <Field
          label="File"
          errors={
            errors.file ?? (tooBig ? [`${formatBytes(file.size)} is over this page's limit`] : undefined)
          }
          hint={`Up to ${formatBytes(MAX_BROWSER_UPLOAD_BYTES)}: the browser reads the whole file into memory to hash it. Larger images: hearth image upload FILE (it streams), or import from a URL.`}
        >
          {(a) => (
            <input
              {...a}
              type="file"
              className={inputClass}
              onChange={(e) => {
                const f = e.target.files?.[0] ?? null;
                setFile(f);
                setErrors({});
                if (f && !form.name) set('name', nameFromFile(f.name));
              }}
            />
          )}
        </Field>
        <TextField
          label="Image name"
          errors={errors.name}
          autoComplete="off"
          value={form.name}
          onChange={(v) => set('name', v)}
        />
        <SelectField label="Kind" errors={errors.kind} value={form.kind} onChange={(v) => set('kind', v)}>
          <option value="rootfs">rootfs (must be ext4)</option>
          <option value="kernel">kernel</option>
          <option value="initrd">initrd</option>
        </SelectField>
        <TextField
          label="Format"
          errors={errors.format}
          hint="ext4 for a rootfs; elf or bzImage for a kernel; cpio.gz for an initrd."
          value={form.format}
          onChange={(v) => set('format', v)}
        />
        <div className="space-y-2 md:col-span-2">
          {phase && <Progress {...phase} />}
          <div className="flex items-center gap-3">
            <RoleButton
              route="createImage"
              type="submit"
              variant="primary"
              disabled={upload.isPending || !!tooBig}
            >
              {upload.isPending ? 'Uploading…' : 'Upload'}
            </RoleButton>
            {upload.isSuccess && (
              <p role="status" className="text-sm">
                Uploaded {upload.data.name} ({formatBytes(upload.data.sizeBytes)}).
              </p>
            )}
            {!Object.keys(errors).length && (
              <ErrorLine className="text-sm" message={errorText(upload.error)} />
            )}
          </div>
        </div>
      </form>
    </Card>
  );
}

const issuesToFieldsFromApi = (fields: Record<string, string[]>): FieldErrors =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.split('.')[0]!, v]));

function Import() {
  const [ref, setRef] = useState('');
  const [name, setName] = useState('');
  const { run, progress } = useImport();
  return (
    <Card title="Import from a registry or URL">
      <form
        noValidate
        className="grid gap-4 md:grid-cols-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (ref.trim()) run.mutate({ ref: ref.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
        }}
      >
        <TextField
          label="OCI reference or URL"
          hint="node:22-alpine, localhost:5000/app:tag, or https://…/disk.ext4. A registry image already imported at the same digest is reused."
          autoComplete="off"
          value={ref}
          onChange={setRef}
        />
        <TextField
          label="Name (optional)"
          hint="Default: derived from the reference."
          autoComplete="off"
          value={name}
          onChange={setName}
        />
        <div className="space-y-2 md:col-span-2">
          {run.isPending && <ImportProgressView progress={progress} />}
          <div className="flex items-center gap-3">
            <RoleButton
              route="importImage"
              type="submit"
              variant="primary"
              disabled={run.isPending || !ref.trim()}
            >
              {run.isPending ? 'Importing…' : 'Import'}
            </RoleButton>
            {run.isSuccess && (
              <p role="status" className="text-sm">
                {run.data.cached ? 'Already imported' : 'Imported'} {run.data.image.name} (
                {formatBytes(run.data.image.sizeBytes)}).
              </p>
            )}
            {run.isError && (
              <ErrorLine
                className="text-sm"
                message={
                  <>
                    {errorText(run.error)}
                    {run.error instanceof HearthError && <> — {run.error.hint}</>}
                  </>
                }
              />
            )}
          </div>
        </div>
      </form>
    </Card>
  );
}

function DeleteImage({ image, vmName }: { image: Image; vmName: (id: string) => string }) {
  const del = useApiMutation({
    call: (client) => client.call('deleteImage', { params: { id: image.id } }),
    invalidate: [imageKeys.all],
  });
  const why = image.builtin
    ? 'built-in images are kept'
    : image.usedBy.length
      ? `in use by ${image.usedBy.map(vmName).join(', ')}`
      : null;
  const whyId = `why-${image.id}`;
  return (
    <ConfirmButton
      label="Delete"
      button={{
        variant: 'danger',
        'aria-label': `Delete ${image.name}`,
        disabled: !!why || del.isPending,
        'aria-describedby': whyId,
      }}
      note={
        image.usedBy.length > 0 && !image.builtin ? (
          <span id={whyId} className="block text-xs text-slate-600 dark:text-slate-300">
            in use by{' '}
            {image.usedBy.map((id, i) => (
              <span key={id}>
                {i > 0 && ', '}
                <Link className={linkClass} to={`/vms/${id}`}>
                  {vmName(id)}
                </Link>
              </span>
            ))}
          </span>
        ) : (
          <Why id={whyId} reason={why} />
        )
      }
      error={del.error}
      title={`Delete image ${image.name}?`}
      confirmLabel="Delete"
      danger
      onConfirm={() => del.mutate()}
    >
      Its content ({formatBytes(image.sizeBytes)}) is removed from the store unless another image shares it.
    </ConfirmButton>
  );
}

export default function Images() {
  const { client } = useSession();
  const images = useQuery(imageQueries.list(client));
  const vms = useQuery(vmQueries.list(client));
  const vmName = (id: string) => vms.data?.find((v) => v.id === id)?.name ?? id;
  return (
    <>
      <PageHeader title="Images" />
      <div className="space-y-4">
        <QueryView
          query={images}
          what="images"
          empty={
            <Empty title="No images">
              Run scripts/setup.sh to build and register the built-in kernel and rootfs.
            </Empty>
          }
        >
          {(list) => (
            <Table
              label="Images"
              headers={['Name', 'Kind', 'Format', 'Size', 'Status', 'Source', 'Added', 'Actions']}
            >
              {list.map((i) => (
                <tr key={i.id} className={rowClass} data-image={i.name}>
                  <td className="p-2 font-medium">
                    {i.name}
                    {i.builtin && (
                      <span className="ml-2 rounded bg-slate-200 px-1.5 text-xs dark:bg-slate-700">
                        built-in
                      </span>
                    )}
                  </td>
                  <td className="p-2">{i.kind}</td>
                  <td className="p-2">{i.format}</td>
                  <td className="p-2 whitespace-nowrap">{formatBytes(i.sizeBytes)}</td>
                  <td className="p-2">{i.status}</td>
                  <td className="p-2 break-all">{i.source}</td>
                  <td className="p-2 whitespace-nowrap">{formatTime(i.createdAt)}</td>
                  <td className="p-2">
                    <DeleteImage image={i} vmName={vmName} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </QueryView>
        <div className="grid gap-4 xl:grid-cols-2">
          <Upload />
          <Import />
        </div>
      </div>
    </>
  );
}
