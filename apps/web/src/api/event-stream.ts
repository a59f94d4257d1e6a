import { useEffect, useState } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { Container, StreamEvent, Vm } from '@hearth/contract';
import { useSession } from './session.tsx';
import { containerKeys, networkKeys, poolKeys, vmKeys } from './queries.ts';
import {
  applyToDetail,
  applyToList,
  touchesContainers,
  touchesNetworks,
  touchesPools,
} from './stream-reducer.ts';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

function apply(qc: QueryClient, e: StreamEvent): void {
  if (e.type === 'hello' || e.type === 'reset') {
    // Fresh connection, or changes were missed: whatever is cached may be stale.
    void qc.invalidateQueries({ queryKey: vmKeys.all });
    void qc.invalidateQueries({ queryKey: networkKeys.all });
    void qc.invalidateQueries({ queryKey: poolKeys.all });
    void qc.invalidateQueries({ queryKey: containerKeys.all });
    return;
  }
  const id = e.type === 'vm' ? e.vm.id : e.vmId;
  const cached =
    qc.getQueryData<Vm>(vmKeys.detail(id)) ?? qc.getQueryData<Vm[]>(vmKeys.list())?.find((v) => v.id === id);
  // Network VM counts and leases follow VMs; only the networks pages that are open refetch.
  if (touchesNetworks(cached, e)) void qc.invalidateQueries({ queryKey: networkKeys.all });
  // So do a pool's ready and warming counts.
  if (touchesPools(cached, e)) void qc.invalidateQueries({ queryKey: poolKeys.all });
  // And containers: their state and health follow their VM and its app.
  if (touchesContainers(containerVms(qc), e)) void qc.invalidateQueries({ queryKey: containerKeys.all });
  qc.setQueryData<Vm[]>(vmKeys.list(), (list) => applyToList(list, e));
  if (e.type === 'vm') qc.setQueryData<Vm>(vmKeys.detail(id), (vm) => applyToDetail(vm, e));
  else void qc.invalidateQueries({ queryKey: vmKeys.detail(id) });
  void qc.invalidateQueries({ queryKey: vmKeys.events(id) });
}

/** The VMs of the containers in the cache (the list and any open container's page). */
function containerVms(qc: QueryClient): Set<string> {
  const vms = new Set<string>();
  const cached = [
    ...(qc.getQueryData<Container[]>(containerKeys.list()) ?? []),
    ...qc.getQueriesData<Container>({ queryKey: [...containerKeys.all, 'detail'] }).map(([, c]) => c),
  ];
  for (const c of cached) if (c?.vm) vms.add(c.vm);
  return vms;
}

/** Wait before opening a new stream after one failed (the manager's own `retry:` is 2 s). */
const RECONNECT_MS = 2000;

/**
 * One EventSource for the whole app: VM changes land in the query cache as they happen, so no
 * page polls for VM state. Signed in with a session, the browser sends the cookie and
 * EventSource reconnects by itself with Last-Event-ID. Signed in with a token, each connection
 * needs a fresh single-use ticket (a token never goes in a URL), so reconnecting is done here,
 * resuming with `?since=`. Either way the manager replays what was missed, or says `reset`.
 */
export function useEventStream(): StreamStatus {
  const { client, kind } = useSession();
  const qc = useQueryClient();
  const [status, setStatus] = useState<StreamStatus>('connecting');
  useEffect(() => {
    let es: EventSource | null = null;
    let closed = false;
    let last: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onMessage = (m: MessageEvent<string>) => {
      setStatus('live');
      const e = JSON.parse(m.data) as StreamEvent;
      last = e.seq;
      apply(qc, e);
    };
    const open = async () => {
      const query = last === undefined ? {} : { since: last };
      const url = await client.connectUrl('eventStream', { query }).catch(() => null);
      if (closed) return;
      if (!url) return retry();
      es = new EventSource(url);
      for (const type of ['vm', 'gone', 'hello', 'reset']) es.addEventListener(type, onMessage);
      es.onerror = () => {
        setStatus('reconnecting');
        // A ticket is used up: a token sign-in opens a new stream with a new one.
        if (kind === 'token') retry();
      };
    };
    const retry = () => {
      es?.close();
      es = null;
      clearTimeout(timer);
      timer = setTimeout(() => void open(), RECONNECT_MS);
    };
    void open();
    return () => {
      closed = true;
      clearTimeout(timer);
      es?.close();
    };
  }, [client, kind, qc]);
  return status;
}
