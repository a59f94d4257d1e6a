import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { HearthClient } from '@hearth/sdk';
import { useSession } from './session.tsx';

/**
 * A mutation through the session's client. The queries named in `invalidate` are refetched once
 * it settles (success or failure: a refused request can still have changed something), and the
 * mutation stays pending until they are, so lists never show the state from before the action.
 * Its error is shown with `ErrorLine`/`errorText`, the same way on every page.
 */
export function useApiMutation<T, V = void>({
  call,
  invalidate = [],
  onSuccess,
  onError,
}: {
  call(client: HearthClient, vars: V): Promise<T>;
  invalidate?: readonly QueryKey[];
  onSuccess?(data: T): void;
  onError?(error: Error): void;
}) {
  const { client } = useSession();
  const qc = useQueryClient();
  return useMutation<T, Error, V>({
    mutationFn: (vars) => call(client, vars),
    onSuccess: (data) => onSuccess?.(data),
    onError: (e) => onError?.(e),
    onSettled: () => Promise.all(invalidate.map((queryKey) => qc.invalidateQueries({ queryKey }))),
  });
}
