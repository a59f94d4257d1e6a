import { useQuery } from '@tanstack/react-query';
import { RUNTIME_LABELS, RUNTIMES, runtimeImageName, type Runtime } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { imageQueries, networkQueries, poolQueries, snapshotQueries } from '../../api/queries.ts';
import { Field, inputClass } from '../../components/Field.tsx';
import { Detail } from '../../components/ui.tsx';
import { bandwidthText, egressText, portsText } from '../vm/network-text.ts';
import { EgressBandwidthFields, NicsEditor, PortsEditor } from '../networks/VmNetFields.tsx';
import { nicRowsText, toEgress } from '../networks/vm-net.ts';
import { toBody, type BootSource, type CreateForm, type FieldErrors } from './form.ts';

export interface StepProps {
  form: CreateForm;
  set<K extends keyof CreateForm>(k: K, v: CreateForm[K]): void;
  errors: FieldErrors;
}

type TextKey = { [K in keyof CreateForm]: CreateForm[K] extends string ? K : never }[keyof CreateForm];

function Text({
  k,
  label,
  hint,
  p,
  ...rest
}: {
  k: TextKey;
  label: string;
  hint?: string;
  p: StepProps;
} & React.InputHTMLAttributes<HTMLInputElement>) {
  return (
    <Field label={label} hint={hint} errors={p.errors[k]}>
      {(a) => (
        <input
          {...a}
          {...rest}
          className={inputClass}
          value={p.form[k]}
          onChange={(e) => p.set(k, e.target.value as never)}
        />
      )}
    </Field>
  );
}

export function BasicsStep(p: StepProps) {
  return (
    <>
      <Text
        p={p}
        k="name"
        label="Name"
        hint="Lowercase letters, digits and dashes. Left empty, the API picks one."
        autoComplete="off"
      />
      <Text
        p={p}
        k="project"
        label="Project"
        readOnly
        hint="The project chosen in the menu; names are unique within a project."
      />
    </>
  );
}

export function ResourcesStep(p: StepProps) {
  return (
    <>
      <Text p={p} k="vcpus" label="vCPUs" type="number" min={1} inputMode="numeric" />
      <Text p={p} k="memoryMib" label="Memory (MiB)" type="number" min={64} inputMode="numeric" />
      <Text
        p={p}
        k="diskSize"
        label="Root disk size"
        hint="Such as 1gb or 512mib; never smaller than the image."
      />
      <Field label="VMM" hint="Left on automatic, the host's best VMM is used." errors={p.errors.vmm}>
        {(a) => (
          <select
            {...a}
            className={inputClass}
            value={p.form.vmm}
            onChange={(e) => p.set('vmm', e.target.value as CreateForm['vmm'])}
          >
            <option value="">Automatic</option>
            <option value="qemu">QEMU microvm</option>
            <option value="firecracker">Firecracker</option>
          </select>
        )}
      </Field>
      <Text p={p} k="timeout" label="Stop automatically after" hint="Optional, such as 30m or 2h." />
    </>
  );
}

const SOURCES: [BootSource, string][] = [
  ['image', 'A disk image'],
  ['runtime', `A runtime (${RUNTIMES.join(', ')})`],
  ['oci', 'An OCI image reference (imported first)'],
  ['snapshot', 'A snapshot (a clone)'],
  ['pool', 'A warm pool (booted ahead of time)'],
];

export function BootStep(p: StepProps) {
  const { client } = useSession();
  const images = useQuery(imageQueries.list(client));
  const snaps = useQuery({ ...snapshotQueries.list(client), enabled: p.form.source === 'snapshot' });
  const pools = useQuery({ ...poolQueries.list(client), enabled: p.form.source === 'pool' });
  const of = (kind: string) =>
    (images.data ?? []).filter(
      (i) => i.kind === kind && i.status === 'ready' && !(kind === 'rootfs' && i.name.startsWith('runtime-')),
    );
  const pick = (k: 'image' | 'kernel', label: string, kind: string) => (
    <Field
      label={label}
      errors={p.errors[k]}
      hint={images.isError ? `Listing images failed: ${images.error.message}` : undefined}
    >
      {(a) => (
        <select {...a} className={inputClass} value={p.form[k]} onChange={(e) => p.set(k, e.target.value)}>
          <option value="">Built-in default</option>
          {of(kind).map((i) => (
            <option key={i.id} value={i.id}>
              {i.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
  const src = p.form.source;
  return (
    <>
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium">Boot from</legend>
        {SOURCES.map(([value, label]) => (
          <label key={value} className="flex items-center gap-2 text-sm">
            <input
              type="radio"
              name="source"
              value={value}
              checked={src === value}
              onChange={() => p.set('source', value)}
            />{' '}
            {label}
          </label>
        ))}
      </fieldset>
      {src === 'image' && pick('image', 'Root filesystem image', 'rootfs')}
      {src === 'runtime' && (
        <Field
          label="Runtime"
          hint="A runtime image (the base image plus the language) is built on first use, which takes a few seconds once."
          errors={p.errors.runtime}
        >
          {(a) => (
            <select
              {...a}
              className={inputClass}
              value={p.form.runtime}
              onChange={(e) => p.set('runtime', e.target.value as Runtime)}
            >
              {RUNTIMES.map((r) => (
                <option key={r} value={r}>
                  {RUNTIME_LABELS[r]} — {runtimeImageName(r)}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {src === 'oci' && (
        <Field
          label="OCI reference"
          hint="Such as alpine:3.20 or localhost:5000/app:tag. Imported into the image store (with progress) when you create the VM; an image already imported at the same digest is reused."
          errors={p.errors.ociRef}
        >
          {(a) => (
            <input
              {...a}
              className={inputClass}
              autoComplete="off"
              value={p.form.ociRef}
              onChange={(e) => p.set('ociRef', e.target.value)}
            />
          )}
        </Field>
      )}
      {src === 'snapshot' && (
        <Field
          label="Snapshot"
          hint="The clone takes its resources, disk, kernel, VMM and credentials from the snapshot and runs on its host; the other steps' settings are not used."
          errors={p.errors.snapshot}
        >
          {(a) => (
            <select
              {...a}
              className={inputClass}
              value={p.form.snapshot}
              onChange={(e) => p.set('snapshot', e.target.value)}
            >
              <option value="">{snaps.isPending ? 'Loading snapshots…' : 'Choose a snapshot'}</option>
              {(snaps.data ?? [])
                .filter((s) => s.state === 'ready')
                .map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} (of {s.vmName}, {s.vcpus} vCPU, {s.memoryMib} MiB)
                  </option>
                ))}
            </select>
          )}
        </Field>
      )}
      {src === 'pool' && (
        <Field
          label="Pool"
          hint="The VM takes its image, resources and network from the pool; its name, environment, credentials and auto-stop are yours, given through the guest agent. An empty pool falls back to a normal boot: the VM's Boot profile says which happened."
          errors={p.errors.pool}
        >
          {(a) => (
            <select
              {...a}
              className={inputClass}
              value={p.form.pool}
              onChange={(e) => p.set('pool', e.target.value)}
            >
              <option value="">{pools.isPending ? 'Loading pools…' : 'Choose a pool'}</option>
              {(pools.data ?? []).map((pool) => (
                <option key={pool.id} value={pool.name}>
                  {pool.name} ({pool.ready} ready of {pool.size})
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      {src !== 'snapshot' && src !== 'pool' && pick('kernel', 'Kernel', 'kernel')}
    </>
  );
}

export function NetworkStep(p: StepProps) {
  const { client } = useSession();
  // Networks are not on the event stream: the list is fetched afresh whenever this step opens.
  const networks = useQuery({ ...networkQueries.list(client), refetchOnMount: 'always' });
  const clone = p.form.source === 'snapshot';
  return (
    <>
      {clone ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">
          A clone gets NICs on the snapshot&apos;s networks (with new addresses). Its published ports, egress
          policy and bandwidth limit can be set on its Network tab once it exists.
        </p>
      ) : p.form.source === 'pool' ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">
          A VM from a pool keeps the NIC and address it was booted with on the pool&apos;s network. Its
          published ports, egress policy and bandwidth limit can be set on its Network tab once it exists.
        </p>
      ) : (
        <>
          <NicsEditor
            nics={p.form.nics}
            onChange={(n) => p.set('nics', n)}
            networks={networks.data ?? []}
            listError={networks.isError ? networks.error.message : undefined}
            errors={p.errors}
          />
          <PortsEditor ports={p.form.ports} onChange={(v) => p.set('ports', v)} errors={p.errors} />
          <EgressBandwidthFields value={p.form} set={(k, v) => p.set(k, v as never)} errors={p.errors} />
        </>
      )}
      <Field
        label="Environment variables"
        hint="One NAME=value per line; available to commands run through the guest agent."
        errors={p.errors.env}
      >
        {(a) => (
          <textarea
            {...a}
            rows={3}
            className={`${inputClass} font-mono`}
            value={p.form.env}
            onChange={(e) => p.set('env', e.target.value)}
          />
        )}
      </Field>
    </>
  );
}

export function CredentialsStep(p: StepProps) {
  const body = toBody(p.form);
  return (
    <>
      <Text
        p={p}
        k="user"
        label="User"
        hint="Created in the guest when missing; default root."
        autoComplete="off"
      />
      <Text
        p={p}
        k="password"
        label="Password"
        type="password"
        autoComplete="new-password"
        hint="Stored in the guest only as a SHA-512 crypt hash."
      />
      <Field label="SSH public keys" hint="One OpenSSH public key per line." errors={p.errors.sshKeys}>
        {(a) => (
          <textarea
            {...a}
            rows={3}
            className={`${inputClass} font-mono`}
            value={p.form.sshKeys}
            onChange={(e) => p.set('sshKeys', e.target.value)}
          />
        )}
      </Field>
      {p.form.source !== 'snapshot' && p.form.source !== 'pool' && (
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={p.form.start} onChange={(e) => p.set('start', e.target.checked)} />
          Start the VM once it is created
        </label>
      )}
      <div className="border-t border-slate-200 pt-4 dark:border-slate-800">
        <h3 className="mb-2 font-medium">Review</h3>
        <Detail
          items={[
            ['Name', body.name ?? '(generated)'],
            ['Project', body.project ?? 'default'],
            [
              'Resources',
              p.form.source === 'pool'
                ? "the pool's"
                : `${body.vcpus ?? 1} vCPU, ${body.memoryMib ?? 128} MiB, disk ${body.diskSize ?? '1gb'}`,
            ],
            ['VMM', p.form.source === 'pool' ? "the pool's" : (body.vmm ?? 'automatic')],
            [
              'Boot',
              p.form.source === 'pool'
                ? `from warm pool ${body.pool ?? '(none chosen)'}; a normal boot if it is empty`
                : p.form.source === 'snapshot'
                  ? `clone of snapshot ${body.snapshot ?? '(none chosen)'}; resources and credentials from it`
                  : p.form.source === 'oci'
                    ? `${p.form.ociRef || '(no reference)'}, imported first, with ${body.kernel ?? 'built-in kernel'}`
                    : `${body.image ?? 'built-in image'} with ${body.kernel ?? 'built-in kernel'}`,
            ],
            ...networkReview(p.form),
            [
              'Credentials',
              `${body.user ?? 'root'}${body.password ? ', password' : ''}${body.sshKeys ? `, ${body.sshKeys.length} SSH key(s)` : ''}`,
            ],
            ['Auto stop', body.timeout ?? 'never'],
            [
              'Start',
              p.form.source === 'snapshot' || p.form.source === 'pool' || p.form.start
                ? 'at once'
                : 'no: created stopped',
            ],
          ]}
        />
      </div>
    </>
  );
}

/** The Network step's choices in words, for the review. */
function networkReview(f: CreateForm): [string, string][] {
  if (f.source === 'snapshot') return [['Network', "the snapshot's networks, new addresses"]];
  if (f.source === 'pool') return [['Network', "the pool's network, the pooled VM's address"]];
  const ports = f.ports.map((r) => ({ host: Number(r.host), guest: Number(r.guest), protocol: r.protocol }));
  const mbit = f.bandwidthMbit.trim();
  return [
    ['Network', nicRowsText(f.nics)],
    ['Published ports', portsText({ ports })],
    ['Egress', egressText(toEgress(f))],
    ['Bandwidth', bandwidthText(mbit ? Number(mbit) : null)],
  ];
}
