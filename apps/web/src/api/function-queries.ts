import { queryOptions } from '@tanstack/react-query';
import type { FunctionVersion } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';

export const fnKeys = {
  all: ['functions'] as const,
  list: () => [...fnKeys.all, 'list'] as const,
  detail: (name: string) => [...fnKeys.all, 'detail', name] as const,
  versions: (name: string) => [...fnKeys.all, 'versions', name] as const,
  code: (name: string, version: number) => [...fnKeys.all, 'code', name, version] as const,
  logs: (name: string, requestId: string) => [...fnKeys.all, 'logs', name, requestId] as const,
  metrics: (name: string) => [...fnKeys.all, 'metrics', name] as const,
};

/** While a version builds (a VM boot, a snapshot: minutes), its state is asked for this often. */
export const BUILD_POLL_MS = 2000;
const building = (v: readonly FunctionVersion[] | undefined) => v?.some((x) => x.state === 'building');

/**
 * Functions are not on the event stream: their versions are polled while one builds, and every
 * mutation (deploy, rollback, invoke, delete) invalidates `fnKeys.all`.
 */
export const fnQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: fnKeys.list(), queryFn: () => c.call('listFunctions') }),
  detail: (c: HearthClient, name: string) =>
    queryOptions({
      queryKey: fnKeys.detail(name),
      queryFn: () => c.call('getFunction', { params: { name } }),
    }),
  versions: (c: HearthClient, name: string) =>
    queryOptions({
      queryKey: fnKeys.versions(name),
      queryFn: async () => (await c.call('listFunctionVersions', { params: { name } })).items,
      refetchInterval: (q) => (building(q.state.data) ? BUILD_POLL_MS : false),
    }),
  /** A version's files never change (versions are immutable). */
  code: (c: HearthClient, name: string, version: number) =>
    queryOptions({
      queryKey: fnKeys.code(name, version),
      queryFn: () => c.call('getFunctionCode', { params: { name, version } }),
      staleTime: Infinity,
    }),
  logs: (c: HearthClient, name: string, requestId: string) =>
    queryOptions({
      queryKey: fnKeys.logs(name, requestId),
      queryFn: async () =>
        (
          await c.call('functionLogs', {
            params: { name },
            query: { limit: 100, requestId: requestId || undefined },
          })
        ).items,
    }),
};
