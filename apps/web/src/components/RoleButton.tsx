import type { ComponentProps, ReactNode } from 'react';
import { Link } from 'react-router';
import type { UserRouteId } from '@hearth/contract';
import { useAccess } from '../api/access.ts';
import { Button } from './ui.tsx';

/**
 * A button for an API route: disabled, with the reason as its tooltip, when the caller's role
 * does not allow the route in the project (the current one unless `project` names another).
 */
export function RoleButton({
  route,
  project,
  disabled,
  title,
  ...props
}: ComponentProps<typeof Button> & { route: UserRouteId; project?: string }) {
  const reason = useAccess().deny(route, project);
  return (
    <Button
      {...props}
      disabled={disabled || reason !== null}
      title={reason ?? title}
      data-denied={reason ?? undefined}
    />
  );
}

/**
 * A link to the page that creates something through `route` (a list page's main action): a
 * disabled button with the reason as its tooltip when the caller's role does not allow the route.
 */
export function RoleLink({ route, to, children }: { route: UserRouteId; to: string; children: ReactNode }) {
  const reason = useAccess().deny(route);
  if (reason)
    return (
      <Button variant="primary" disabled title={reason}>
        {children}
      </Button>
    );
  return (
    <Link
      to={to}
      className="rounded-md bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800"
    >
      {children}
    </Link>
  );
}
