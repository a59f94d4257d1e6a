import { useEffect, useState } from 'react';
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { StreamEvent, Vm } from '@hearth/contract';
import { useSession } from './session.tsx';
import { networkKeys, vmKeys } from './queries.ts';
import { applyToDetail, applyToList, touchesNetworks } from './stream-reducer.ts';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

function apply(qc: QueryClient, e: StreamEvent): void {
  if (e.type === 'hello' || e.type === 'reset') {
    // Fresh connection, or changes were missed: whatever is cached may be stale.
    void qc.invalidateQueries({ queryKey: vmKeys.all });
    void qc.invalidateQueries({ queryKey: networkKeys.all });
    return;
  }
  const id = e.type === 'vm' ? e.vm.id : e.vmId;
  const cached =
    qc.getQueryData<Vm>(vmKeys.detail(id)) ?? qc.getQueryData<Vm[]>(vmKeys.list())?.find((v) => v.id === id);
  // Network VM counts and leases follow VMs; only the networks pages that are open refetch.
  if (touchesNetworks(cached, e)) void qc.invalidateQueries({ queryKey: networkKeys.all });
  qc.setQueryData<Vm[]>(vmKeys.list(), (list) => applyToList(list, e));
  if (e.type === 'vm') qc.setQueryData<Vm>(vmKeys.detail(id), (vm) => applyToDetail(vm, e));
  else void qc.invalidateQueries({ queryKey: vmKeys.detail(id) });
  void qc.invalidateQueries({ queryKey: vmKeys.events(id) });
}

/**
 * One EventSource for the whole app: VM changes land in the query cache as they happen, so no
 * page polls for VM state. EventSource reconnects by itself and sends Last-Event-ID, so the
 * manager replays what was missed (or says `reset`, and everything is refetched).
 */
export function useEventStream(): StreamStatus {
  const { client, token } = useSession();
  const qc = useQueryClient();
  const [status, setStatus] = useState<StreamStatus>('connecting');
  useEffect(() => {
    const es = new EventSource(client.url('eventStream', { query: { token } }));
    const onMessage = (m: MessageEvent<string>) => {
      setStatus('live');
      apply(qc, JSON.parse(m.data) as StreamEvent);
    };
    for (const type of ['vm', 'gone', 'hello', 'reset']) es.addEventListener(type, onMessage);
    es.onerror = () => setStatus('reconnecting');
    return () => es.close();
  }, [client, token, qc]);
  return status;
}
