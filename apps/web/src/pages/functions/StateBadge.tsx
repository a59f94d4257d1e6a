import type { FunctionVersion } from '@hearth/contract';

const COLOR: Record<FunctionVersion['state'] | 'none', string> = {
  ready: 'bg-green-100 text-green-900 dark:bg-green-900/60 dark:text-green-100',
  building: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100',
  none: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
};

/** A function's or a version's state: building, ready, failed. */
export function FnStateBadge({ state, testId = 'fn-state' }: { state: keyof typeof COLOR; testId?: string }) {
  return (
    <span
      data-testid={testId}
      className={`inline-block rounded-full px-2 py-0.5 text-xs font-semibold ${COLOR[state]}`}
    >
      {state === 'none' ? 'no version' : state}
    </span>
  );
}
