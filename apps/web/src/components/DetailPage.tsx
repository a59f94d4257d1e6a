import { Suspense, type ReactNode } from 'react';
import * as Tabs from '@radix-ui/react-tabs';
import { Link, useNavigate } from 'react-router';
import { ErrorState, linkClass, Loading, PageHeader } from './ui.tsx';

/**
 * A detail page's tabs (a VM's, a container's): the tab is part of the URL (`base/TAB`, replaced
 * so that Back leaves the page), and a tab's lazily loaded code shows a loading line meanwhile.
 * `children` are the pages' `Tabs.Content`s, one per tab.
 */
export function DetailTabs({
  label,
  base,
  tab,
  tabs,
  children,
}: {
  label: string;
  base: string;
  tab: string;
  tabs: readonly (readonly [value: string, label: string])[];
  children: ReactNode;
}) {
  const navigate = useNavigate();
  return (
    <Tabs.Root
      value={tab}
      onValueChange={(t) => void navigate(`${base}/${t}`, { replace: true })}
      activationMode="manual"
    >
      <Tabs.List
        aria-label={label}
        className="mb-4 flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800"
      >
        {tabs.map(([value, text]) => (
          <Tabs.Trigger
            key={value}
            value={value}
            className="border-b-2 border-transparent px-3 py-2 text-sm whitespace-nowrap data-[state=active]:border-blue-700 data-[state=active]:font-semibold"
          >
            {text}
          </Tabs.Trigger>
        ))}
      </Tabs.List>
      <Suspense fallback={<Loading what="the tab" />}>{children}</Suspense>
    </Tabs.Root>
  );
}

/** A detail page whose record could not be read: the error (with a retry) and the way back to the list. */
export function DetailError({
  title,
  error,
  retry,
  back,
}: {
  title: string;
  error: unknown;
  retry(): void;
  back: { to: string; label: string };
}) {
  return (
    <>
      <PageHeader title={title} />
      <ErrorState error={error} retry={retry} />
      <Link className={`mt-3 inline-block ${linkClass}`} to={back.to}>
        {back.label}
      </Link>
    </>
  );
}
