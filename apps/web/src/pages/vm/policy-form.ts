import { PatchVmBody, type Vm, type VmState } from '@hearth/contract';
import { issuesToFields, mergeErrors, type FieldErrors } from '../../lib/fields.ts';
import { checkPolicy, toBandwidth, toEgress, toPorts, type PolicyInput } from '../networks/vm-net.ts';

type Policy = Pick<Vm, 'ports' | 'egress' | 'bandwidthMbit'>;

/** The VM's current ports, egress policy and bandwidth limit as the edit form's inputs. */
export function policyOf(vm: Policy): PolicyInput {
  return {
    ports: vm.ports.map((p) => ({ host: String(p.host), guest: String(p.guest), protocol: p.protocol })),
    egressDefault: vm.egress.default,
    egressAllow: vm.egress.allow.join('\n'),
    egressDeny: vm.egress.deny.join('\n'),
    egressDomains: (vm.egress.domains ?? []).join('\n'),
    bandwidthMbit: vm.bandwidthMbit === null ? '' : String(vm.bandwidthMbit),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The body of PATCH /v1/vms/{id}: only what differs from the VM (each part replaces the VM's
 * whole value; an empty bandwidth input is `null`, which removes the limit).
 */
export function toPolicyPatch(p: PolicyInput, vm: Policy): PatchVmBody {
  const body: PatchVmBody = {};
  const ports = toPorts(p.ports);
  const egress = toEgress(p);
  const mbit = toBandwidth(p.bandwidthMbit) ?? null;
  const current = vm.ports.map((x) => ({ host: x.host, guest: x.guest, protocol: x.protocol }));
  if (!same(ports, current)) body.ports = ports;
  const { default: def, allow, deny, domains } = vm.egress;
  if (!same(egress, { default: def, allow, deny, ...(domains?.length ? { domains } : {}) }))
    body.egress = egress;
  if (mbit !== vm.bandwidthMbit) body.bandwidthMbit = mbit;
  return body;
}

/** Plain checks, then the contract's PatchVmBody as the API applies it, keyed by input. */
export function validatePolicy(p: PolicyInput): FieldErrors {
  const errors = checkPolicy(p);
  const r = PatchVmBody.safeParse({
    ports: toPorts(p.ports),
    egress: toEgress(p),
    bandwidthMbit: toBandwidth(p.bandwidthMbit) ?? null,
  });
  return r.success ? errors : mergeErrors(errors, issuesToFields(r.error.issues));
}

/**
 * When a change takes effect, in the VM's current state: a running or paused VM's host applies it
 * at once (the API asks the host first and saves only what it applied); a stopped one takes it
 * at its next start; a VM between states gets it as soon as it runs.
 */
export function applyNote(state: VmState): string {
  if (state === 'running' || state === 'paused')
    return `The VM is ${state}: saving applies the change on its host at once, before the record changes (a refusal, such as a host port already in use, changes nothing).`;
  if (state === 'created' || state === 'stopped' || state === 'failed')
    return `The VM is ${state}: the change is saved now and applied when it next starts.`;
  return `The VM is ${state}: the change is saved now and applied by its host as soon as it runs.`;
}

/** Said after a save, in the state the VM had then. */
export function savedNote(state: VmState): string {
  if (state === 'running' || state === 'paused') return `Saved and applied on the ${state} VM.`;
  if (state === 'created' || state === 'stopped' || state === 'failed')
    return 'Saved; applied when the VM next starts.';
  return 'Saved; applied as soon as the VM runs.';
}
