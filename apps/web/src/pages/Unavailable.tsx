import { Link } from 'react-router';
import { NotAvailable, PageHeader } from '../components/ui.tsx';

const link = 'text-blue-700 underline dark:text-blue-300';

const WHAT = {
  snapshots: {
    title: 'Snapshots',
    body: (
      <p>
        The API has no snapshot routes yet, so nothing can be created, restored or cloned here. What exists
        today:{' '}
        <Link className={link} to="/vms">
          pausing a VM
        </Link>{' '}
        keeps its memory while its vCPUs stop.
      </p>
    ),
  },
  volumes: {
    title: 'Volumes',
    body: (
      <p>
        Data volumes cannot be created or attached yet. Each VM has one root disk, sized at creation (see a
        VM&apos;s Storage tab).
      </p>
    ),
  },
  networks: {
    title: 'Networks',
    body: (
      <p>
        Only the default NAT network exists: every VM gets an address from it, shown on the{' '}
        <Link className={link} to="/vms">
          VM list
        </Link>{' '}
        and a VM&apos;s Network tab. Isolated, bridged and overlay networks cannot be created yet.
      </p>
    ),
  },
  templates: {
    title: 'Templates',
    body: (
      <p>
        Saved VM configurations cannot be stored yet. The{' '}
        <Link className={link} to="/vms/new">
          create wizard
        </Link>{' '}
        sets every option a template would hold.
      </p>
    ),
  },
} as const;

/** A resource the API does not offer yet: said plainly, with what exists instead. */
export function Unavailable({ what }: { what: keyof typeof WHAT }) {
  const w = WHAT[what];
  return (
    <>
      <PageHeader title={w.title} />
      <NotAvailable feature={w.title}>{w.body}</NotAvailable>
    </>
  );
}
