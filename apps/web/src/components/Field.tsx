import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

/** A labelled input with its hint and errors wired up for screen readers (aria-describedby). */
export function Field({
  label,
  hint,
  errors,
  children,
}: {
  label: string;
  hint?: ReactNode;
  errors?: string[] | undefined;
  children: (props: { id: string; 'aria-describedby': string; 'aria-invalid': boolean }) => ReactNode;
}) {
  const id = useId();
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      {children({ id, 'aria-describedby': `${id}-hint ${id}-err`, 'aria-invalid': !!errors?.length })}
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-slate-600 dark:text-slate-300">
          {hint}
        </p>
      )}
      <div id={`${id}-err`} aria-live="polite">
        {errors?.map((e) => (
          <p key={e} className="text-sm text-red-700 dark:text-red-300" data-testid="field-error">
            {e}
          </p>
        ))}
      </div>
    </div>
  );
}

export const inputClass =
  'w-full rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm aria-[invalid=true]:border-red-600 dark:border-slate-600 dark:bg-slate-800';

type FieldProps = { label: string; hint?: ReactNode; errors?: string[] | undefined };

/** A labelled text input (any `<input>` type but file) whose value is a string. */
export function TextField({
  label,
  hint,
  errors,
  value,
  onChange,
  ...input
}: FieldProps & { value: string; onChange(v: string): void } & Omit<
    InputHTMLAttributes<HTMLInputElement>,
    'value' | 'onChange' | 'id' | 'className'
  >) {
  return (
    <Field label={label} hint={hint} errors={errors}>
      {(a) => (
        <input
          {...a}
          {...input}
          className={inputClass}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** A labelled `<select>`; the options are its children. */
export function SelectField({
  label,
  hint,
  errors,
  value,
  onChange,
  children,
}: FieldProps & { value: string; onChange(v: string): void; children: ReactNode }) {
  return (
    <Field label={label} hint={hint} errors={errors}>
      {(a) => (
        <select {...a} className={inputClass} value={value} onChange={(e) => onChange(e.target.value)}>
          {children}
        </select>
      )}
    </Field>
  );
}

/** A labelled two-line monospace `<textarea>` (one item a line: keys, variables, volumes). */
export function TextAreaField({
  label,
  hint,
  errors,
  value,
  onChange,
}: FieldProps & { value: string; onChange(v: string): void }) {
  return (
    <Field label={label} hint={hint} errors={errors}>
      {(a) => (
        <textarea
          {...a}
          rows={2}
          className={`${inputClass} font-mono`}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}
