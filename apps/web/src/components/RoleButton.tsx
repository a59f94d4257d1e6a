import type { ComponentProps } from 'react';
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
