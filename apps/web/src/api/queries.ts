import { queryOptions } from '@tanstack/react-query';
import type { Container } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';

/**
 * Query factories per resource (keys and fetchers in one place), so the event stream, pages and
 * mutations agree on what is cached where.
 */
export const vmKeys = {
  all: ['vms'] as const,
  list: () => [...vmKeys.all, 'list'] as const,
  detail: (id: string) => [...vmKeys.all, 'detail', id] as const,
  events: (id: string) => [...vmKeys.all, 'events', id] as const,
  logs: (id: string) => [...vmKeys.all, 'logs', id] as const,
  guest: (id: string) => [...vmKeys.all, 'guest', id] as const,
};

export const vmQueries = {
  /** Every VM; kept current by the event stream, not by polling. */
  list: (c: HearthClient) => queryOptions({ queryKey: vmKeys.list(), queryFn: () => c.all('listVms') }),
  detail: (c: HearthClient, id: string) =>
    queryOptions({ queryKey: vmKeys.detail(id), queryFn: () => c.call('getVm', { params: { id } }) }),
  events: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: vmKeys.events(id),
      queryFn: async () => (await c.call('vmEvents', { params: { id }, query: { limit: 500 } })).items,
    }),
  logs: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: vmKeys.logs(id),
      queryFn: () => c.call('vmLogs', { params: { id }, query: { tail: 64 * 1024 } }),
    }),
  guest: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: vmKeys.guest(id),
      queryFn: () => c.call('vmGuestInfo', { params: { id } }),
      retry: false,
    }),
};

export const hostQueries = {
  // Hosts change with heartbeats, which the event stream does not carry: a slow refresh suffices.
  list: (c: HearthClient) =>
    queryOptions({ queryKey: ['hosts', 'list'], queryFn: () => c.all('listHosts'), refetchInterval: 15_000 }),
};

export const imageQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: ['images', 'list'], queryFn: () => c.all('listImages') }),
};

export const snapshotKeys = {
  all: ['snapshots'] as const,
  list: () => [...snapshotKeys.all, 'list'] as const,
  forVm: (vm: string) => [...snapshotKeys.all, 'vm', vm] as const,
};

/** Snapshots are not on the event stream; every mutation invalidates `snapshotKeys.all`. */
export const snapshotQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: snapshotKeys.list(), queryFn: () => c.all('listSnapshots') }),
  forVm: (c: HearthClient, vm: string) =>
    queryOptions({ queryKey: snapshotKeys.forVm(vm), queryFn: () => c.all('listSnapshots', { vm }) }),
};

export const scheduleKeys = { all: ['schedules'] as const, list: () => ['schedules', 'list'] as const };

export const scheduleQueries = {
  /** The runner moves next/last run and the last error with no event: polled. */
  list: (c: HearthClient) =>
    queryOptions({
      queryKey: scheduleKeys.list(),
      queryFn: () => c.all('listSchedules'),
      refetchInterval: 30_000,
    }),
};

export const volumeKeys = {
  all: ['volumes'] as const,
  list: () => [...volumeKeys.all, 'list'] as const,
  forVm: (vm: string) => [...volumeKeys.all, 'vm', vm] as const,
};

export const volumeQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: volumeKeys.list(), queryFn: () => c.all('listVolumes') }),
  forVm: (c: HearthClient, vm: string) =>
    queryOptions({ queryKey: volumeKeys.forVm(vm), queryFn: () => c.all('listVolumes', { vm }) }),
};

export const templateKeys = { all: ['templates'] as const, list: () => ['templates', 'list'] as const };

export const templateQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: templateKeys.list(), queryFn: () => c.all('listTemplates') }),
};

export const imageKeys = { all: ['images'] as const };

export const networkKeys = {
  all: ['networks'] as const,
  list: () => [...networkKeys.all, 'list'] as const,
  detail: (id: string) => [...networkKeys.all, 'detail', id] as const,
  leases: (id: string) => [...networkKeys.all, 'leases', id] as const,
};

/**
 * Networks are not on the event stream, but their VM counts and leases follow VMs: the stream
 * invalidates `networkKeys.all` when a VM appears, goes or changes NICs (`touchesNetworks`), and
 * network mutations invalidate it too.
 */
export const networkQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: networkKeys.list(), queryFn: () => c.all('listNetworks') }),
  detail: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: networkKeys.detail(id),
      queryFn: () => c.call('getNetwork', { params: { id } }),
    }),
  leases: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: networkKeys.leases(id),
      queryFn: async () => (await c.call('listLeases', { params: { id } })).items,
    }),
};

export const poolKeys = {
  all: ['pools'] as const,
  list: () => [...poolKeys.all, 'list'] as const,
};

/**
 * Pools are not on the event stream, but their ready and warming counts follow their VMs: the
 * stream invalidates `poolKeys.all` when a pool's VM changes (`touchesPools`), pool mutations do
 * too, and a slow refresh catches what no VM change shows (a refill that failed before its VM existed).
 */
export const poolQueries = {
  list: (c: HearthClient) =>
    queryOptions({ queryKey: poolKeys.list(), queryFn: () => c.all('listPools'), refetchInterval: 15_000 }),
};

export const containerKeys = {
  all: ['containers'] as const,
  list: () => [...containerKeys.all, 'list'] as const,
  detail: (id: string) => [...containerKeys.all, 'detail', id] as const,
  events: (id: string) => [...containerKeys.all, 'events', id] as const,
  stats: (id: string) => [...containerKeys.all, 'stats', id] as const,
};

/**
 * Containers are not on the event stream, but what they show follows their VMs: the stream
 * invalidates `containerKeys.all` when a VM of a cached container changes or goes, or a VM reports
 * an app (`touchesContainers`). The pages also poll (`refreshEvery` in pages/containers/status.ts):
 * a pull has no VM yet.
 */
export const containerQueries = {
  /** Every container of the project, exited ones too (`all=true`), page after page. */
  list: (c: HearthClient) =>
    queryOptions({
      queryKey: containerKeys.list(),
      queryFn: async () => {
        const items: Container[] = [];
        let cursor: string | undefined;
        do {
          const page = await c.call('listContainers', { query: { all: 'true', limit: 500, cursor } });
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        return items;
      },
    }),
  detail: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: containerKeys.detail(id),
      queryFn: () => c.call('getContainer', { params: { id } }),
    }),
  events: (c: HearthClient, id: string) =>
    queryOptions({
      queryKey: containerKeys.events(id),
      queryFn: async () => (await c.call('containerEvents', { params: { id }, query: { limit: 500 } })).items,
    }),
};
