import type { ButtonHTMLAttributes, ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { HearthError, type Host, type VmState } from '@hearth/contract';
import { formatMib } from '../lib/format.ts';

const BUTTON = {
  primary: 'bg-blue-700 text-white hover:bg-blue-800 disabled:bg-blue-700/50',
  secondary:
    'border border-slate-300 bg-white text-slate-800 hover:bg-slate-100 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100 dark:hover:bg-slate-700',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-700/50',
  ghost: 'text-slate-700 hover:bg-slate-200 dark:text-slate-200 dark:hover:bg-slate-800',
};

const BUTTON_BASE = 'inline-flex items-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium';

/** A link that looks like a secondary button (an action that is a page: a network's leases). */
export const buttonLinkClass = `${BUTTON_BASE} ${BUTTON.secondary}`;

export function Button({
  variant = 'secondary',
  className = '',
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: keyof typeof BUTTON }) {
  return (
    <button
      type="button"
      className={`${BUTTON_BASE} disabled:cursor-not-allowed disabled:opacity-60 ${BUTTON[variant]} ${className}`}
      {...props}
    />
  );
}

const STATE_COLOR: Record<VmState, string> = {
  running: 'bg-green-100 text-green-900 dark:bg-green-900/60 dark:text-green-100',
  // Booted and waiting in a warm pool: ready, but nobody's yet.
  pooled: 'bg-violet-100 text-violet-900 dark:bg-violet-900/60 dark:text-violet-100',
  paused: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100',
  failed: 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100',
  // Its host was removed for good: the record is all that is left.
  lost: 'bg-red-100 text-red-900 dark:bg-red-900/60 dark:text-red-100',
  // Its host went silent: nobody knows what it is doing until the host speaks or is declared dead.
  unknown: 'bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100',
  stopped: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
  created: 'bg-slate-200 text-slate-800 dark:bg-slate-700 dark:text-slate-100',
  creating: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  starting: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  pausing: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  resuming: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  stopping: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
  deleting: 'bg-blue-100 text-blue-900 dark:bg-blue-900/60 dark:text-blue-100',
};

export function StateBadge({ state }: { state: VmState }) {
  return (
    <span
      data-testid="vm-state"
      className={`inline-block rounded-full px-2 py-0.5 text-xs font-semibold ${STATE_COLOR[state]}`}
    >
      {state}
    </span>
  );
}

/** A small label next to a name (the default network). */
export function Badge({ children, className = '' }: { children: ReactNode; className?: string }) {
  return (
    <span
      className={`inline-block rounded-full bg-blue-100 px-2 py-0.5 text-xs font-semibold text-blue-900 dark:bg-blue-900/60 dark:text-blue-100 ${className}`}
    >
      {children}
    </span>
  );
}

export function Card({
  title,
  children,
  className = '',
}: {
  title?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <section
      className={`rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900 ${className}`}
    >
      {title && <h2 className="mb-3 text-base font-semibold">{title}</h2>}
      {children}
    </section>
  );
}

export function PageHeader({ title, actions }: { title: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-2xl font-semibold">{title}</h1>
      {actions && <div className="flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="flex items-center gap-2 p-4 text-sm text-slate-600 dark:text-slate-300">
      <span className="size-4 animate-spin rounded-full border-2 border-slate-400 border-t-transparent" />
      Loading {what}…
    </p>
  );
}

/** An API failure with its code and hint, as the CLI prints them. */
export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const e = error as Error;
  return (
    <div
      role="alert"
      className="rounded-md border border-red-300 bg-red-50 p-4 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      <p className="font-semibold">{e.message}</p>
      {e instanceof HearthError && (
        <p className="mt-1">
          <code>{e.code}</code> — {e.hint}
        </p>
      )}
      {retry && (
        <Button className="mt-3" onClick={retry}>
          Try again
        </Button>
      )}
    </div>
  );
}

/**
 * A query's error (with a retry), loading and empty states, and otherwise its data: the same on
 * every page. Empty means an empty list unless `isEmpty` says otherwise.
 */
export function QueryView<T>({
  query,
  what,
  empty,
  isEmpty = (d) => Array.isArray(d) && d.length === 0,
  children,
}: {
  query: UseQueryResult<T>;
  what: string;
  empty: ReactNode;
  isEmpty?(data: T): boolean;
  children(data: T): ReactNode;
}) {
  if (query.isError) return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  if (query.isPending) return <Loading what={what} />;
  return isEmpty(query.data) ? empty : children(query.data);
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-md border border-dashed border-slate-300 p-8 text-center dark:border-slate-700">
      <p className="font-medium">{title}</p>
      {children && <div className="mt-2 text-sm text-slate-600 dark:text-slate-300">{children}</div>}
    </div>
  );
}

export function Meter({
  label,
  used,
  total,
  format,
}: {
  label: string;
  used: number;
  total: number;
  format: (n: number) => string;
}) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return (
    <div className="text-sm">
      <div className="flex justify-between">
        <span>{label}</span>
        <span className="text-slate-600 dark:text-slate-300">
          {format(used)} / {format(total)}
        </span>
      </div>
      <div
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        className="mt-1 h-2 rounded bg-slate-200 dark:bg-slate-700"
      >
        <div
          className={`h-2 rounded ${pct > 85 ? 'bg-red-600' : 'bg-blue-600'}`}
          style={{ width: `${pct}%` }}
        />
      </div>
    </div>
  );
}

/** A host's allocated vCPUs and memory against its inventory. */
export function HostMeters({ host }: { host: Host }) {
  return (
    <>
      <Meter label="vCPUs allocated" used={host.allocatedVcpus} total={host.inventory.cpus} format={String} />
      <Meter
        label="Memory allocated"
        used={host.allocatedMemoryMib}
        total={host.inventory.memoryMib}
        format={formatMib}
      />
    </>
  );
}

export function Detail({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[minmax(8rem,max-content)_1fr] gap-x-6 gap-y-2 text-sm">
      {items.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-600 dark:text-slate-300">{k}</dt>
          <dd className="break-all">{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The list tables' frame and header row, as on the VM list. */
export function Table({
  headers,
  children,
  label,
}: {
  headers: string[];
  children: ReactNode;
  label: string;
}) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className="w-full text-left text-sm" aria-label={label}>
        <thead className="border-b border-slate-200 text-slate-600 dark:border-slate-800 dark:text-slate-300">
          <tr>
            {headers.map((h) => (
              <th key={h} className="p-2">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export const rowClass = 'border-b border-slate-100 last:border-0 dark:border-slate-800';
export const linkClass = 'text-blue-700 underline dark:text-blue-300';

/** An action refused for now, with the reason as its tooltip and read out with the button. */
export function Why({ id, reason }: { id: string; reason: string | null }) {
  return reason ? (
    <span id={id} className="block text-xs text-slate-600 dark:text-slate-300">
      {reason}
    </span>
  ) : null;
}

/** The message of a failed mutation, for inline display. */
export const errorText = (e: unknown): string | null =>
  e ? `${(e as Error).message}${e instanceof HearthError ? ` (${e.code})` : ''}` : null;

/** A failed request's message and code with the API's hint (what to do about it) under it. */
export const errorWithHint = (e: unknown): ReactNode =>
  e ? (
    <>
      {errorText(e)}
      {e instanceof HearthError && <span className="block">{e.hint}</span>}
    </>
  ) : null;

/** A failed action's message, inline and read out when it appears (nothing when there is none). */
export function ErrorLine({ message, className = 'text-xs' }: { message: ReactNode; className?: string }) {
  return message ? (
    <p role="alert" className={`${className} text-red-700 dark:text-red-300`}>
      {message}
    </p>
  ) : null;
}
