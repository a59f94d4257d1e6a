import { useId, type ReactNode } from 'react';

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
