import { SelectField, TextField } from '../../components/Field.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import type { ContainerForm, HealthKind } from './form.ts';

const KIND_HINT: Record<HealthKind, string> = {
  '': 'No check: the container is running once its app started.',
  cmd: 'A command in the container (run with /bin/sh -c); healthy on exit 0.',
  http: 'GET http://127.0.0.1:PORT/PATH in the container; healthy on a 2xx or 3xx.',
  tcp: 'A connection to 127.0.0.1:PORT in the container; healthy when it is accepted.',
};

/** The health check inputs: the kind, what to probe, how often and how many failures count. */
export function HealthFields({
  form,
  errors,
  set,
}: {
  form: ContainerForm;
  errors: FieldErrors;
  set<K extends keyof ContainerForm>(k: K, v: ContainerForm[K]): void;
}) {
  const field = (k: keyof ContainerForm) => ({
    errors: errors[k],
    value: form[k] as string,
    onChange: (v: string) => set(k, v),
  });
  return (
    <fieldset className="grid gap-4 rounded-md border border-slate-200 p-3 md:col-span-2 md:grid-cols-2 dark:border-slate-700">
      <legend className="px-1 text-sm font-medium">Health check</legend>
      <SelectField label="Check" hint={KIND_HINT[form.healthKind]} {...field('healthKind')}>
        <option value="">none</option>
        <option value="cmd">command</option>
        <option value="http">HTTP</option>
        <option value="tcp">TCP</option>
      </SelectField>
      {form.healthKind === 'cmd' && (
        <TextField label="Command" hint="Like: pg_isready -U postgres" {...field('healthCmd')} />
      )}
      {(form.healthKind === 'http' || form.healthKind === 'tcp') && (
        <TextField
          label="Port"
          type="number"
          min={1}
          max={65535}
          inputMode="numeric"
          {...field('healthPort')}
        />
      )}
      {form.healthKind === 'http' && <TextField label="Path" hint="Default /." {...field('healthPath')} />}
      {form.healthKind !== '' && (
        <>
          <TextField label="Interval" hint="Like 10s or 1m; default 30s." {...field('healthInterval')} />
          <TextField
            label="Retries"
            hint="Failures in a row before unhealthy; default 3."
            type="number"
            min={1}
            inputMode="numeric"
            {...field('healthRetries')}
          />
        </>
      )}
    </fieldset>
  );
}
