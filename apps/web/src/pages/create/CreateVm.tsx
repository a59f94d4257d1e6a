import { useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useSession } from '../../api/session.tsx';
import { networkQueries, vmKeys } from '../../api/queries.ts';
import { keepNewest } from '../../api/stream-reducer.ts';
import { Button, Card, ErrorLine, errorWithHint, PageHeader } from '../../components/ui.tsx';
import { dropErrors } from '../../lib/fields.ts';
import { ERROR_KEY } from '../networks/vm-net.ts';
import { ImportProgressView, useImport } from '../../components/Progress.tsx';
import {
  alertsFor,
  apiErrors,
  emptyForm,
  firstStepWithError,
  stepErrors,
  STEPS,
  toBody,
  validate,
  type CreateForm,
  type FieldErrors,
} from './form.ts';
import { BasicsStep, BootStep, CredentialsStep, NetworkStep, ResourcesStep } from './Steps.tsx';
import { currentProject } from '../../api/project.tsx';

const STEP_VIEWS = [BasicsStep, ResourcesStep, BootStep, NetworkStep, CredentialsStep];

/**
 * Five steps over one form. Each step is checked with the contract's own schema before moving on;
 * what the API still refuses comes back next to its field, on the step that holds it.
 */
export default function CreateVm() {
  const { client } = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [form, setForm] = useState<CreateForm>(() => ({
    ...emptyForm,
    project: currentProject() ?? emptyForm.project,
  }));
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>(null);
  const networks = useQuery(networkQueries.list(client));
  const heading = useRef<HTMLHeadingElement>(null);

  const go = (i: number) => {
    setStep(i);
    // Move focus to the new step's heading so keyboard and screen-reader users follow along.
    requestAnimationFrame(() => heading.current?.focus());
  };
  const set = <K extends keyof CreateForm>(k: K, v: CreateForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
    setErrors((e) => dropErrors(e, ERROR_KEY[k] ?? k));
  };
  const check = () => validate(form, networks.data);

  const { run: importer, progress } = useImport();
  const create = useMutation({
    mutationFn: async () => {
      // An OCI reference becomes an image first (the import's progress shows below), then the VM boots it.
      const imported =
        form.source === 'oci'
          ? (await importer.mutateAsync({ ref: form.ociRef.trim() })).image.id
          : undefined;
      return client.call('createVm', { body: toBody(form, imported) });
    },
    onSuccess: (vm) => {
      qc.setQueryData(vmKeys.detail(vm.id), keepNewest(vm));
      navigate(`/vms/${vm.id}`);
    },
    onError: (e) => {
      // Next to its input when it concerns one (a taken address next to its NIC), and with the
      // API's message, code and hint under the form.
      const { fields } = apiErrors(e, form.nics);
      setErrors(fields);
      setFailure(e);
      const at = firstStepWithError(fields);
      if (at !== null) go(at);
    },
  });

  const next = () => {
    const here = stepErrors(check(), step);
    setErrors(here);
    if (Object.keys(here).length === 0) go(step + 1);
  };
  const submit = () => {
    const all = check();
    setErrors(all);
    setFailure(null);
    const at = firstStepWithError(all);
    if (at !== null) return go(at);
    create.mutate();
  };

  const View = STEP_VIEWS[step]!;
  const last = step === STEPS.length - 1;
  return (
    <>
      <PageHeader title="Create a VM" />
      <nav aria-label="Steps" className="mb-4">
        <ol className="flex flex-wrap gap-2 text-sm">
          {STEPS.map((s, i) => (
            <li key={s.id}>
              <button
                type="button"
                aria-current={i === step ? 'step' : undefined}
                disabled={i > step}
                onClick={() => go(i)}
                className={`rounded-full px-3 py-1 ${i === step ? 'bg-blue-700 text-white' : 'bg-slate-200 dark:bg-slate-800'} disabled:opacity-60`}
              >
                {i + 1}. {s.title}
              </button>
            </li>
          ))}
        </ol>
      </nav>
      <Card>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (last) submit();
            else next();
          }}
        >
          <h2 ref={heading} tabIndex={-1} className="mb-4 text-lg font-semibold">
            Step {step + 1} of {STEPS.length}: {STEPS[step]!.title}
          </h2>
          <div className="max-w-2xl space-y-4">
            <View form={form} set={set} errors={errors} />
          </div>
          {importer.isPending && (
            <div className="mt-4 max-w-2xl">
              <ImportProgressView progress={progress} />
            </div>
          )}
          {alertsFor(failure) && (
            <div className="mt-4">
              <ErrorLine className="text-sm" message={errorWithHint(failure)} />
            </div>
          )}
          <div className="mt-6 flex gap-2">
            {step > 0 && <Button onClick={() => go(step - 1)}>Back</Button>}
            <Button type="submit" variant="primary" disabled={create.isPending}>
              {last
                ? importer.isPending
                  ? 'Importing…'
                  : create.isPending
                    ? 'Creating…'
                    : 'Create VM'
                : 'Next'}
            </Button>
          </div>
        </form>
      </Card>
    </>
  );
}
