import { Link } from 'react-router';
import { NotAvailable, PageHeader } from '../components/ui.tsx';

const link = 'text-blue-700 underline dark:text-blue-300';

const WHAT = {
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
