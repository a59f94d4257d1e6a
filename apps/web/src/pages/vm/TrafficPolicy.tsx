import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Vm } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { vmKeys } from '../../api/queries.ts';
import { keepNewest } from '../../api/stream-reducer.ts';
import { Button, Card, Detail, ErrorLine, errorWithHint } from '../../components/ui.tsx';
import { dropErrors, type FieldErrors } from '../../lib/fields.ts';
import { apiErrors } from '../create/form.ts';
import { EgressBandwidthFields, PortsEditor } from '../networks/VmNetFields.tsx';
import { ERROR_KEY, type PolicyInput } from '../networks/vm-net.ts';
import { bandwidthText, egressText, portsText } from './network-text.ts';
import { applyNote, policyOf, savedNote, toPolicyPatch, validatePolicy } from './policy-form.ts';

/** Published ports, egress policy and bandwidth limit, edited in place with PATCH /v1/vms/{id}. */
function PolicyForm({ vm, onDone }: { vm: Vm; onDone(saved: string | null): void }) {
  const qc = useQueryClient();
  const [form, setForm] = useState<PolicyInput>(() => policyOf(vm));
  const [errors, setErrors] = useState<FieldErrors>({});
  const body = toPolicyPatch(form, vm);
  const unchanged = Object.keys(body).length === 0;
  const save = useApiMutation({
    call: (c) => c.call('patchVm', { params: { id: vm.id }, body }),
    onSuccess: (next) => {
      qc.setQueryData(vmKeys.detail(next.id), keepNewest(next));
      onDone(savedNote(vm.state));
    },
    onError: (e) => setErrors(apiErrors(e).fields),
  });
  const set = <K extends keyof PolicyInput>(k: K, v: PolicyInput[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => dropErrors(e, ERROR_KEY[k] ?? k));
  };
  return (
    <form
      noValidate
      className="max-w-2xl space-y-4"
      aria-label="Edit traffic policy"
      onSubmit={(e) => {
        e.preventDefault();
        save.reset();
        const errs = validatePolicy(form);
        setErrors(errs);
        if (!Object.keys(errs).length && !unchanged) save.mutate();
      }}
    >
      <PortsEditor ports={form.ports} onChange={(v) => set('ports', v)} errors={errors} />
      <EgressBandwidthFields value={form} set={(k, v) => set(k, v as never)} errors={errors} />
      <p className="text-sm text-slate-700 dark:text-slate-200" data-testid="policy-apply-note">
        {applyNote(vm.state)}
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" variant="primary" disabled={save.isPending || unchanged}>
          {save.isPending ? 'Saving…' : 'Save changes'}
        </Button>
        <Button onClick={() => onDone(null)}>Cancel</Button>
        {unchanged && (
          <span className="text-xs text-slate-600 dark:text-slate-300">Nothing changed yet.</span>
        )}
      </div>
      <ErrorLine className="text-sm" message={errorWithHint(save.error)} />
    </form>
  );
}

export function TrafficPolicyCard({ vm }: { vm: Vm }) {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <Card title="Traffic policy">
      {editing ? (
        <PolicyForm
          vm={vm}
          onDone={(note) => {
            setEditing(false);
            setSaved(note);
          }}
        />
      ) : (
        <>
          <Detail
            items={[
              ['Egress', egressText(vm.egress)],
              ['Bandwidth', bandwidthText(vm.bandwidthMbit)],
              ['Published ports', portsText(vm)],
            ]}
          />
          <div className="mt-3 flex flex-wrap items-center gap-3">
            <Button
              onClick={() => {
                setSaved(null);
                setEditing(true);
              }}
            >
              Edit ports, egress and bandwidth
            </Button>
            <p role="status" className="text-sm text-green-800 dark:text-green-200">
              {saved}
            </p>
          </div>
          <p className="mt-3 text-xs text-slate-600 dark:text-slate-300">
            Traffic to the VM&apos;s own networks always passes. Changes apply at once on a running VM (also{' '}
            <code>hearth update {vm.name} --egress … --bandwidth … --publish …</code> or{' '}
            <code>PATCH /v1/vms/{vm.id}</code>).
          </p>
        </>
      )}
    </Card>
  );
}
