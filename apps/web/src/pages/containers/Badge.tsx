import type { Container } from '@hearth/contract';
import { stateText, stateTone, type Tone } from './status.ts';

const TONE: Record<Tone, string> = {
  good: 'bg-green-100 text-green-900 dark:bg-green-900/60 dark:text-green-100',
  warn: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100',
  bad: 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100',
  busy: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  idle: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
};

/** The container's state with its health or exit code: `running (healthy)`, `exited (1)`. */
export function ContainerBadge({ c }: { c: Container }) {
  return (
    <span
      data-testid="container-state"
      data-state={c.state}
      className={`inline-block rounded-full px-2 py-0.5 text-xs font-semibold whitespace-nowrap ${TONE[stateTone(c)]}`}
    >
      {stateText(c)}
    </span>
  );
}
