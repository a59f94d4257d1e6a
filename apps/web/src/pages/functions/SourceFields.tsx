import type { FunctionRuntime } from '@hearth/contract';
import { SelectField, TextAreaField, TextField } from '../../components/Field.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { CodeEditor } from './CodeEditor.tsx';
import { RUNTIMES, type FnDraft } from './form.ts';

/** The editor for the open file, and a picker when the function has more than one. */
export function SourceEditor({
  draft,
  set,
  errorLine,
}: {
  draft: FnDraft;
  set(d: FnDraft): void;
  errorLine?: number | null;
}) {
  const names = Object.keys(draft.files).sort();
  return (
    <div className="space-y-2">
      {names.length > 1 && (
        <SelectField label="File" value={draft.open} onChange={(open) => set({ ...draft, open })}>
          {names.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </SelectField>
      )}
      <CodeEditor
        label={`Source of ${draft.open}`}
        runtime={draft.runtime}
        value={draft.files[draft.open] ?? ''}
        onChange={(v) => set({ ...draft, files: { ...draft.files, [draft.open]: v } })}
        errorLine={errorLine ?? null}
      />
    </div>
  );
}

/** Runtime, handler, memory, timeout and environment: what a deploy sends with the code. */
export function SettingsFields({
  draft,
  errors,
  set,
  onRuntime,
}: {
  draft: FnDraft;
  errors: FieldErrors;
  set(d: FnDraft): void;
  onRuntime?(r: FunctionRuntime): void;
}) {
  const text = (k: 'handler' | 'memoryMib' | 'timeoutS' | 'env') => ({
    value: draft[k],
    errors: errors[k],
    onChange: (v: string) => set({ ...draft, [k]: v }),
  });
  return (
    <div className="grid gap-3 md:grid-cols-2">
      <SelectField
        label="Runtime"
        errors={errors.runtime}
        value={draft.runtime}
        onChange={(r) =>
          onRuntime ? onRuntime(r as FunctionRuntime) : set({ ...draft, runtime: r as FunctionRuntime })
        }
      >
        {RUNTIMES.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </SelectField>
      <TextField
        label="Handler"
        hint="module.function: index.handler is the export handler of index.js."
        autoComplete="off"
        spellCheck={false}
        {...text('handler')}
      />
      <TextField label="Memory (MiB)" type="number" min={128} inputMode="numeric" {...text('memoryMib')} />
      <TextField
        label="Timeout (s)"
        hint="An invocation running longer is stopped."
        type="number"
        min={1}
        inputMode="numeric"
        {...text('timeoutS')}
      />
      <div className="md:col-span-2">
        <TextAreaField label="Environment" hint="NAME=value a line." {...text('env')} />
      </div>
    </div>
  );
}
