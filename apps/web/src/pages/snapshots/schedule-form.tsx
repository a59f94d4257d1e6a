import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { CreateScheduleBody, SnapshotSchedule, UpdateScheduleBody } from '@hearth/contract';
import { useApiMutation } from '../../api/mutation.ts';
import { scheduleKeys, vmQueries } from '../../api/queries.ts';
import { useSession } from '../../api/session.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { errorText } from '../../components/ui.tsx';

/** What both dialogs edit; text as typed, turned into a body on submit. */
interface Fields {
  cron: string;
  keep: string;
  maxAge: string;
  diskOnly: boolean;
}

type FieldErrors = Record<string, string[]> | undefined;
const fieldErrorsOf = (e: unknown): FieldErrors => (e as { fields?: FieldErrors } | null)?.fields;

function retentionOf(f: Fields): CreateScheduleBody['retention'] {
  return {
    ...(f.keep.trim() ? { count: Number(f.keep.trim()) } : {}),
    ...(f.maxAge.trim() ? { maxAge: f.maxAge.trim() } : {}),
  };
}

/** Parses `k=v, k2=v2` into labels; a pair without `=` is kept as a key with an empty value. */
function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const i = pair.indexOf('=');
    out[i < 0 ? pair : pair.slice(0, i).trim()] = i < 0 ? '' : pair.slice(i + 1).trim();
  }
  return out;
}

function CommonFields({
  f,
  set,
  errors,
}: {
  f: Fields;
  set: (patch: Partial<Fields>) => void;
  errors: FieldErrors;
}) {
  const retention = errors?.retention ?? errors?.['retention.count'] ?? errors?.['retention.maxAge'];
  return (
    <>
      <TextField
        label="Cron (UTC)"
        hint="Five fields: minute hour day month weekday, e.g. 0 3 * * * for 03:00 every day."
        errors={errors?.cron}
        autoComplete="off"
        value={f.cron}
        onChange={(cron) => set({ cron })}
      />
      <div className="grid grid-cols-2 gap-3">
        <TextField
          label="Keep (count)"
          hint="The newest this many per VM."
          inputMode="numeric"
          errors={retention}
          value={f.keep}
          onChange={(keep) => set({ keep })}
        />
        <TextField
          label="Keep (max age)"
          hint="e.g. 12h, 7d, 4w."
          autoComplete="off"
          value={f.maxAge}
          onChange={(maxAge) => set({ maxAge })}
        />
      </div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={f.diskOnly} onChange={(e) => set({ diskOnly: e.target.checked })} />
        Disk only (root disk and volumes, no memory; restoring boots the VM cold)
      </label>
    </>
  );
}

/** A new schedule, for one VM or for every VM with some labels. */
export function CreateScheduleDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange(o: boolean): void;
}) {
  const { client } = useSession();
  const vms = useQuery(vmQueries.list(client));
  const [f, setF] = useState<Fields>({ cron: '0 3 * * *', keep: '7', maxAge: '', diskOnly: false });
  const [target, setTarget] = useState<'vm' | 'selector'>('vm');
  const [vm, setVm] = useState('');
  const [selector, setSelector] = useState('');
  const [name, setName] = useState('');
  const create = useApiMutation({
    call: (c) => {
      const body: CreateScheduleBody = {
        cron: f.cron.trim(),
        retention: retentionOf(f),
        memory: !f.diskOnly,
        enabled: true,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(target === 'vm' ? { vm } : { selector: labelsOf(selector) }),
      };
      return c.call('createSchedule', { body });
    },
    invalidate: [scheduleKeys.all],
    onSuccess: () => onOpenChange(false),
  });
  const errors = fieldErrorsOf(create.error);
  return (
    <FormDialog
      open={open}
      onOpenChange={(o) => {
        create.reset();
        onOpenChange(o);
      }}
      title="New snapshot schedule"
      description="Snapshots on a cron schedule, pruned by count and/or age. Only the schedule's own snapshots are pruned."
      submitLabel="Create"
      pending={create.isPending}
      error={errorText(create.error)}
      onSubmit={() => create.mutate()}
    >
      <TextField
        label="Schedule name"
        hint="Optional."
        errors={errors?.name}
        autoComplete="off"
        value={name}
        onChange={setName}
      />
      <SelectField label="Snapshot" value={target} onChange={(v) => setTarget(v as 'vm' | 'selector')}>
        <option value="vm">one VM</option>
        <option value="selector">every VM with these labels</option>
      </SelectField>
      {target === 'vm' ? (
        <SelectField label="VM" errors={errors?.vm} value={vm} onChange={setVm}>
          <option value="">choose a VM</option>
          {(vms.data ?? []).map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
            </option>
          ))}
        </SelectField>
      ) : (
        <TextField
          label="Labels"
          hint="key=value, separated by commas; the VMs up at each run are snapshotted."
          errors={errors?.selector}
          autoComplete="off"
          value={selector}
          onChange={setSelector}
        />
      )}
      <CommonFields f={f} set={(patch) => setF({ ...f, ...patch })} errors={errors} />
    </FormDialog>
  );
}

/** Changes cron, retention and kind; a new cron recomputes the next run. */
export function EditScheduleDialog({
  schedule: s,
  open,
  onOpenChange,
}: {
  schedule: SnapshotSchedule;
  open: boolean;
  onOpenChange(o: boolean): void;
}) {
  const initial: Fields = {
    cron: s.cron,
    keep: s.retention.count !== undefined ? String(s.retention.count) : '',
    maxAge: s.retention.maxAge ?? '',
    diskOnly: !s.memory,
  };
  const [f, setF] = useState<Fields>(initial);
  const update = useApiMutation({
    call: (c) => {
      const body: UpdateScheduleBody = {
        ...(f.cron.trim() !== s.cron ? { cron: f.cron.trim() } : {}),
        retention: retentionOf(f),
        memory: !f.diskOnly,
      };
      return c.call('updateSchedule', { params: { id: s.id }, body });
    },
    invalidate: [scheduleKeys.all],
    onSuccess: () => onOpenChange(false),
  });
  const errors = fieldErrorsOf(update.error);
  return (
    <FormDialog
      open={open}
      onOpenChange={(o) => {
        update.reset();
        if (o) setF(initial);
        onOpenChange(o);
      }}
      title={`Edit schedule ${s.name}`}
      submitLabel="Save"
      pending={update.isPending}
      error={errorText(update.error)}
      onSubmit={() => update.mutate()}
    >
      <CommonFields f={f} set={(patch) => setF({ ...f, ...patch })} errors={errors} />
    </FormDialog>
  );
}
