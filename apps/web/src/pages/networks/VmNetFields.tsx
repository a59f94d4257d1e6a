import { useId, type ReactNode } from 'react';
import type { Network } from '@hearth/contract';
import { SelectField, TextAreaField, TextField } from '../../components/Field.tsx';
import { Button } from '../../components/ui.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { MAX_NICS, newPort, type NicRow, type PolicyInput, type PortRow } from './vm-net.ts';

const legendClass = 'text-sm font-medium';
const rowClass = 'rounded-md border border-slate-200 p-3 dark:border-slate-700';

/** A list's own messages (not one input's), read out as they appear. */
function GroupErrors({ id, errors }: { id: string; errors: string[] | undefined }) {
  return (
    <div id={id} aria-live="polite">
      {errors?.map((e) => (
        <p key={e} className="text-sm text-red-700 dark:text-red-300" data-testid="field-error">
          {e}
        </p>
      ))}
    </div>
  );
}

/** A list of rows in a fieldset: its legend, hint, rows, list-level errors and an add button. */
function RowList({
  legend,
  hint,
  errors,
  add,
  children,
}: {
  legend: string;
  hint: ReactNode;
  errors: string[] | undefined;
  add: ReactNode;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <fieldset className="space-y-2" aria-describedby={`${id}-hint ${id}-err`}>
      <legend className={legendClass}>{legend}</legend>
      <p id={`${id}-hint`} className="text-xs text-slate-600 dark:text-slate-300">
        {hint}
      </p>
      {children}
      <GroupErrors id={`${id}-err`} errors={errors} />
      {add}
    </fieldset>
  );
}

const describe = (n: Network) => `${n.name} (${n.mode}, ${n.cidr ?? 'DHCP'})`;

function NicRowView({
  i,
  nic,
  count,
  networks,
  withIp,
  errors,
  update,
  move,
  remove,
}: {
  i: number;
  nic: NicRow;
  count: number;
  networks: readonly Network[];
  withIp: boolean;
  errors: string[] | undefined;
  update(n: NicRow): void;
  move(): void;
  remove(): void;
}) {
  const net = networks.find((n) => n.name === nic.network);
  const known = !nic.network || !!net;
  const ipInput = withIp && (!net || net.cidr !== null);
  return (
    <fieldset className={rowClass}>
      <legend className="px-1 text-xs font-medium">NIC {i + 1}</legend>
      <div className="grid gap-3 sm:grid-cols-2">
        <SelectField
          label="Network"
          errors={ipInput ? undefined : errors}
          value={nic.network}
          // A network without a subnet takes no fixed address: the address goes with the choice.
          onChange={(v) => update({ network: v, ip: '' })}
        >
          {!known && <option value={nic.network}>{nic.network}</option>}
          {!nic.network && <option value="">Choose a network</option>}
          {networks.map((n) => (
            <option key={n.id} value={n.name}>
              {describe(n)}
            </option>
          ))}
        </SelectField>
        {ipInput ? (
          <TextField
            label="Fixed IP address"
            hint={
              net?.cidr
                ? `Optional: a free address in ${net.cidr}${net.gateway ? ` other than the gateway ${net.gateway}` : ''}; empty, the lowest free one.`
                : 'Optional; empty, the lowest free address.'
            }
            errors={errors}
            autoComplete="off"
            inputMode="decimal"
            value={nic.ip}
            onChange={(v) => update({ ...nic, ip: v })}
          />
        ) : (
          withIp && (
            <p className="self-center text-sm text-slate-600 dark:text-slate-300">
              Addressed by the LAN&apos;s DHCP server (this network has no subnet, so no fixed address).
            </p>
          )
        )}
      </div>
      <div className="mt-2 flex gap-2">
        {i > 0 && (
          <Button aria-label={`Move up NIC ${i + 1}`} onClick={move}>
            Move up
          </Button>
        )}
        {count > 1 && (
          <Button aria-label={`Remove NIC ${i + 1}`} onClick={remove}>
            Remove
          </Button>
        )}
      </div>
    </fieldset>
  );
}

/**
 * A VM's NICs in order (the first carries the default route when its network has a gateway), up
 * to four; with `withIp`, a fixed address per NIC on networks that have a subnet.
 */
export function NicsEditor({
  nics,
  onChange,
  networks,
  listError,
  errors,
  withIp = true,
}: {
  nics: NicRow[];
  onChange(nics: NicRow[]): void;
  networks: readonly Network[];
  listError?: string | undefined;
  errors: FieldErrors;
  withIp?: boolean;
}) {
  const set = (i: number, n: NicRow) => onChange(nics.map((x, j) => (j === i ? n : x)));
  const free = networks.find((n) => !nics.some((x) => x.network === n.name));
  return (
    <RowList
      legend="Network interfaces"
      hint={
        listError
          ? `Listing networks failed: ${listError}`
          : 'In order: NIC 1 is the guest’s first interface. Up to four, each on a different network; the Networks page creates more networks.'
      }
      errors={[...(errors.networks ?? []), ...(errors.network ?? [])]}
      add={
        <Button
          disabled={nics.length >= MAX_NICS}
          onClick={() => onChange([...nics, { network: free?.name ?? '', ip: '' }])}
        >
          Add a NIC{nics.length >= MAX_NICS ? ` (at most ${MAX_NICS})` : ''}
        </Button>
      }
    >
      {nics.map((nic, i) => (
        <NicRowView
          key={i}
          i={i}
          nic={nic}
          count={nics.length}
          networks={networks}
          withIp={withIp}
          errors={errors[`networks.${i}`]}
          update={(n) => set(i, n)}
          move={() => onChange([...nics.slice(0, i - 1), nic, nics[i - 1]!, ...nics.slice(i + 1)])}
          remove={() => onChange(nics.filter((_, j) => j !== i))}
        />
      ))}
    </RowList>
  );
}

/** Published ports: host port → guest port per protocol, rows added and removed. */
export function PortsEditor({
  ports,
  onChange,
  errors,
}: {
  ports: PortRow[];
  onChange(ports: PortRow[]): void;
  errors: FieldErrors;
}) {
  const set = (i: number, p: PortRow) => onChange(ports.map((x, j) => (j === i ? p : x)));
  return (
    <RowList
      legend="Published ports"
      hint="Traffic to this port on the VM’s host (its own addresses, not 127.0.0.1) goes to the guest port, on the first NIC on a NAT network."
      errors={errors.ports}
      add={<Button onClick={() => onChange([...ports, newPort()])}>Add a port</Button>}
    >
      {ports.map((p, i) => {
        const rowErrors = errors[`ports.${i}`];
        return (
          <fieldset key={i} className={rowClass}>
            <legend className="px-1 text-xs font-medium">Port {i + 1}</legend>
            <div className="grid items-start gap-3 sm:grid-cols-[1fr_1fr_8rem_auto]">
              <TextField
                label="Host port"
                errors={rowErrors?.filter((m) => m.startsWith('host'))}
                inputMode="numeric"
                value={p.host}
                onChange={(v) => set(i, { ...p, host: v })}
              />
              <TextField
                label="Guest port"
                errors={rowErrors?.filter((m) => !m.startsWith('host'))}
                inputMode="numeric"
                value={p.guest}
                onChange={(v) => set(i, { ...p, guest: v })}
              />
              <SelectField
                label="Protocol"
                value={p.protocol}
                onChange={(v) => set(i, { ...p, protocol: v as PortRow['protocol'] })}
              >
                <option value="tcp">TCP</option>
                <option value="udp">UDP</option>
              </SelectField>
              <Button
                className="sm:mt-6"
                aria-label={`Remove port ${i + 1}`}
                onClick={() => onChange(ports.filter((_, j) => j !== i))}
              >
                Remove
              </Button>
            </div>
          </fieldset>
        );
      })}
    </RowList>
  );
}

type PolicyKey = 'egressDefault' | 'egressAllow' | 'egressDeny' | 'egressDomains' | 'bandwidthMbit';

/** The egress policy (default, the two address lists, the domain list) and the bandwidth limit. */
export function EgressBandwidthFields({
  value,
  set,
  errors,
}: {
  value: Pick<PolicyInput, PolicyKey>;
  set(k: PolicyKey, v: string): void;
  errors: FieldErrors;
}) {
  return (
    <>
      <SelectField
        label="Egress default"
        hint="What the VM may reach outside its own networks (which, with their gateways and DNS, always pass): the deny list wins over the allow list, the rest gets this default."
        errors={[...(errors['egress.default'] ?? []), ...(errors.egress ?? [])]}
        value={value.egressDefault}
        onChange={(v) => set('egressDefault', v)}
      >
        <option value="allow">Allow everything not denied</option>
        <option value="deny">Deny everything not allowed</option>
      </SelectField>
      <TextAreaField
        label="Egress allow list"
        hint="IPv4 addresses or CIDRs such as 10.0.0.0/8, one a line or separated by commas."
        errors={errors['egress.allow']}
        value={value.egressAllow}
        onChange={(v) => set('egressAllow', v)}
      />
      <TextAreaField
        label="Egress deny list"
        hint="Checked before the allow list."
        errors={errors['egress.deny']}
        value={value.egressDeny}
        onChange={(v) => set('egressDeny', v)}
      />
      <TextAreaField
        label="Egress allowed domains"
        hint="Names such as example.com, or *.example.com for the names under it, one a line or separated by commas: their addresses are allowed as the VM resolves them through its gateway's DNS. Needs the default Deny."
        errors={errors['egress.domains']}
        value={value.egressDomains}
        onChange={(v) => set('egressDomains', v)}
      />
      <TextField
        label="Bandwidth limit (Mbit/s)"
        hint="Per NIC, each direction, 1 to 100000; empty for no limit."
        errors={errors.bandwidthMbit}
        inputMode="numeric"
        autoComplete="off"
        value={value.bandwidthMbit}
        onChange={(v) => set('bandwidthMbit', v)}
      />
    </>
  );
}
