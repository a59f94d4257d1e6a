import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { NetworkMode, type Network } from '@hearth/contract';
import { useApiMutation } from '../api/mutation.ts';
import { useSession } from '../api/session.tsx';
import { hostQueries, networkKeys, networkQueries } from '../api/queries.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { SelectField, TextField } from '../components/Field.tsx';
import {
  Badge,
  Button,
  buttonLinkClass,
  Card,
  Empty,
  ErrorLine,
  errorWithHint,
  linkClass,
  PageHeader,
  QueryView,
  rowClass,
  Table,
  Why,
} from '../components/ui.tsx';
import type { FieldErrors } from './create/form.ts';
import {
  emptyNetworkForm,
  fieldText,
  freeInterfaces,
  MODE_FIELDS,
  METADATA_MODES,
  MODE_HINT,
  MODE_LABEL,
  networkExtra,
  networkFieldsOf,
  toNetworkBody,
  validateNetwork,
  type NetworkForm,
} from './networks/form.ts';
import { RoleButton } from '../components/RoleButton.tsx';

function CreateNetwork() {
  const { client } = useSession();
  const hosts = useQuery(hostQueries.list(client));
  const [form, setForm] = useState<NetworkForm>(emptyNetworkForm);
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useApiMutation({
    call: (c) => c.call('createNetwork', { body: toNetworkBody(form) }),
    invalidate: [networkKeys.all],
    onSuccess: () => setForm((f) => ({ ...emptyNetworkForm, mode: f.mode })),
    onError: (e) => setErrors(networkFieldsOf(e)),
  });
  const set = (k: Exclude<keyof NetworkForm, 'allowMetadata'>, v: string) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors(({ [k]: _, ...rest }) => rest);
  };
  const free = freeInterfaces(hosts.data ?? []);
  return (
    <Card title="Create a network">
      <form
        noValidate
        className="grid gap-4 md:grid-cols-2 xl:grid-cols-4"
        onSubmit={(e) => {
          e.preventDefault();
          create.reset();
          // The contract's own schema, as the API checks it; the mode rules are the API's to tell.
          const errs = validateNetwork(form);
          setErrors(errs);
          if (!Object.keys(errs).length) create.mutate();
        }}
      >
        <TextField
          label="Network name"
          errors={errors.name}
          hint="Lowercase letters, digits and dashes."
          autoComplete="off"
          value={form.name}
          onChange={(v) => set('name', v)}
        />
        <SelectField
          label="Mode"
          errors={errors.mode}
          hint={MODE_HINT[form.mode]}
          value={form.mode}
          onChange={(v) => {
            set('mode', v);
            create.reset();
            setErrors({});
          }}
        >
          {NetworkMode.options.map((m) => (
            <option key={m} value={m}>
              {MODE_LABEL[m]}
            </option>
          ))}
        </SelectField>
        {MODE_FIELDS[form.mode].map((k) => {
          const t = fieldText(form.mode, k);
          const hint =
            k === 'interface'
              ? `${t.hint} ${free.length ? `Free on the ready hosts: ${free.join(', ')}.` : 'No ready host reports a free one.'}`
              : t.hint;
          return (
            <TextField
              key={`${form.mode}-${k}`}
              label={t.label}
              errors={errors[k]}
              hint={hint}
              autoComplete="off"
              inputMode={k === 'vlan' || k === 'vni' || k === 'port' ? 'numeric' : undefined}
              value={form[k]}
              onChange={(v) => set(k, v)}
            />
          );
        })}
        {METADATA_MODES.includes(form.mode) && (
          <label className="flex items-center gap-2 text-sm md:col-span-2 xl:col-span-4">
            <input
              type="checkbox"
              checked={form.allowMetadata}
              onChange={(e) => setForm((f) => ({ ...f, allowMetadata: e.target.checked }))}
            />
            Let guests reach cloud instance metadata (169.254.0.0/16); blocked by default
          </label>
        )}
        <div className="space-y-2 md:col-span-2 xl:col-span-4">
          <RoleButton route="createNetwork" type="submit" variant="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create network'}
          </RoleButton>
          <ErrorLine className="text-sm" message={errorWithHint(create.error)} />
        </div>
      </form>
    </Card>
  );
}

function NetworkRow({ network }: { network: Network }) {
  const [confirmDelete, setConfirmDelete] = useState(false);
  const del = useApiMutation({
    call: (client) => client.call('deleteNetwork', { params: { id: network.id } }),
    invalidate: [networkKeys.all],
  });
  const whyId = `why-${network.id}`;
  return (
    <tr className={rowClass} data-network={network.name}>
      <td className="p-2 font-medium whitespace-nowrap">
        <Link className={linkClass} to={`/networks/${network.id}`}>
          {network.name}
        </Link>
        {network.isDefault && <Badge className="ml-2">default</Badge>}
      </td>
      <td className="p-2">{network.mode}</td>
      <td className="p-2 whitespace-nowrap">{network.cidr ?? 'DHCP'}</td>
      <td className="p-2">{network.gateway ?? '—'}</td>
      <td className="p-2">
        <code>{network.bridge}</code>
      </td>
      <td className="p-2" data-testid="network-vms">
        {network.vmCount}
      </td>
      <td className="p-2">{networkExtra(network)}</td>
      <td className="p-2">
        <div className="flex flex-wrap gap-2">
          <Link
            className={buttonLinkClass}
            aria-label={`Leases of ${network.name}`}
            to={`/networks/${network.id}`}
          >
            Leases
          </Link>
          <Button
            variant="danger"
            aria-label={`Delete ${network.name}`}
            disabled={network.isDefault || del.isPending}
            aria-describedby={whyId}
            onClick={() => {
              del.reset();
              setConfirmDelete(true);
            }}
          >
            Delete
          </Button>
        </div>
        <Why id={whyId} reason={network.isDefault ? 'the default network stays' : null} />
        <ErrorLine message={errorWithHint(del.error)} />
        <ConfirmDialog
          open={confirmDelete}
          onOpenChange={setConfirmDelete}
          title={`Delete network ${network.name}?`}
          confirmLabel="Delete"
          danger
          onConfirm={() => del.mutate()}
        >
          Every host removes its bridge, tunnels and rules. The API refuses while VMs have a NIC on it (
          {network.vmCount} now).
        </ConfirmDialog>
      </td>
    </tr>
  );
}

/** Networks VMs attach to: created per mode, listed with their addressing, deleted once unused. */
export default function Networks() {
  const { client } = useSession();
  const networks = useQuery(networkQueries.list(client));
  return (
    <>
      <PageHeader title="Networks" />
      <div className="space-y-4">
        <CreateNetwork />
        <QueryView
          query={networks}
          what="networks"
          empty={
            <Empty title="No networks yet">
              Create one above; VMs join networks when they are created (<code>networks</code> in the API,{' '}
              <code>hearth create --network</code>).
            </Empty>
          }
        >
          {(list) => (
            <Table
              label="Networks"
              headers={[
                'Name',
                'Mode',
                'Subnet',
                'Gateway',
                'Bridge',
                'VMs',
                'Interface / VLAN / VNI',
                'Actions',
              ]}
            >
              {list.map((n) => (
                <NetworkRow key={n.id} network={n} />
              ))}
            </Table>
          )}
        </QueryView>
      </div>
    </>
  );
}
