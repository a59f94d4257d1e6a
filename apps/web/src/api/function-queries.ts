import { queryOptions } from '@tanstack/react-query';
import type { FunctionVersion, METRICS_RANGES } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';

export const fnKeys = {
  all: ['functions'] as const,
  list: () => [...fnKeys.all, 'list'] as const,
  detail: (name: string) => [...fnKeys.all, 'detail', name] as const,
  versions: (name: string) => [...fnKeys.all, 'versions', name] as const,
  code: (name: string, version: number) => [...fnKeys.all, 'code', name, version] as const,
  logs: (name: string, requestId: string, q: string) => [...fnKeys.all, 'logs', name, requestId, q] as const,
  metrics: (name: string, range: string) => [...fnKeys.all, 'metrics', name, range] as const,
};

/** The invocations a logs view lists at most. */
export const LOGS_LIMIT = 100;

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
  logs: (c: HearthClient, name: string, requestId: string, q: string) =>
    queryOptions({
      queryKey: fnKeys.logs(name, requestId, q),
      queryFn: async () =>
        (
          await c.call('functionLogs', {
            params: { name },
            query: { limit: LOGS_LIMIT, requestId: requestId || undefined, q: q || undefined },
          })
        ).items,
    }),
  /** The figures move with every invocation, also ones made elsewhere: read again every 15 s. */
  metrics: (c: HearthClient, name: string, range: keyof typeof METRICS_RANGES) =>
    queryOptions({
      queryKey: fnKeys.metrics(name, range),
      queryFn: () => c.call('functionMetrics', { params: { name }, query: { range } }),
      refetchInterval: 15_000,
    }),
};
