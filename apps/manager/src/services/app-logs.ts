import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { HearthError, type AppControlBody, type AppStatus, type ContainerLogsQuery } from '@hearth/contract';
import { flushHeadersOnPipe, fromWeb } from '@hearth/contract/streams';
import type { VmRow } from '../store/mappers.ts';
import type { Stores } from '../store/index.ts';
import type { AgentClient } from './agent-client.ts';
import type { VmBus } from './bus.ts';
import { recordAppStatus } from './vms/app-status.ts';

/** What the app functions need from the manager's services. */
export interface AppDeps {
  stores: Stores;
  agents: AgentClient;
  bus: VmBus;
}

async function appHost(deps: Pick<AppDeps, 'stores'>, vm: VmRow) {
  if (!vm.host_id) {
    throw new HearthError(
      'VM_NOT_RUNNING',
      `VM "${vm.name}" has never run on a host, so its app has no logs or status yet.`,
      { detail: { state: vm.state } },
    );
  }
  return deps.stores.hosts.require(vm.host_id);
}

/**
 * Streams the app logs of VM `vm` (a row the caller resolved and authorised) to `reply`: the
 * agent of its host reads the files it keeps (also while the VM is stopped) and, with `follow`,
 * relays new lines until the client leaves (its going away cancels the agent request). Returns
 * the body for the route handler to return.
 */
export async function streamAppLogs(
  deps: Pick<AppDeps, 'stores' | 'agents'>,
  vm: VmRow,
  query: ContainerLogsQuery,
  reply: FastifyReply,
): Promise<Readable> {
  const host = await appHost(deps, vm);
  const follow = query.follow === 'true' || query.follow === '1';
  // A follow may be silent for hours: no timeout between its chunks.
  // A client that leaves before the agent answered ends the agent's request too.
  const left = new AbortController();
  reply.raw.once('close', () => left.abort());
  const res = await deps.agents.raw(
    host,
    'appLogs',
    { params: { id: vm.id }, query },
    { stream: follow, signal: left.signal },
  );
  reply.type(res.headers.get('content-type') ?? 'text/plain; charset=utf-8');
  // A response that only grows must not be buffered by a proxy on the way.
  reply.header('cache-control', 'no-store');
  reply.header('x-accel-buffering', 'no');
  if (follow) flushHeadersOnPipe(reply.raw);
  return fromWeb(res.body!);
}

/**
 * Stops (stop signal, then SIGKILL after the app's grace period), starts, restarts or signals the
 * app of running VM `vm`; records and returns its status after. `actor` names who asked (the VM
 * event's actor). Called by the containers service (start/stop/restart/kill of a container).
 * @public
 */
export async function controlApp(
  deps: AppDeps,
  vm: VmRow,
  control: AppControlBody,
  actor: string,
): Promise<AppStatus> {
  if (vm.state !== 'running') {
    throw new HearthError(
      'VM_NOT_RUNNING',
      `VM "${vm.name}" is ${vm.state}: its app runs only while it runs.`,
      {
        detail: { state: vm.state },
      },
    );
  }
  const host = await appHost(deps, vm);
  const status = await deps.agents.call(host, 'appControl', { params: { id: vm.id }, body: control });
  const what = control.action === 'signal' ? `signal ${control.signal ?? ''}`.trim() : control.action;
  await recordAppStatus(deps, vm, status, [`${what} requested`], actor);
  return status;
}

/**
 * The app status of running VM `vm`, asked of its guest now (the stored `vms.app` may lag).
 * @public
 */
export async function appStatus(deps: Pick<AppDeps, 'stores' | 'agents'>, vm: VmRow): Promise<AppStatus> {
  const host = await appHost(deps, vm);
  return deps.agents.call(host, 'appStatus', { params: { id: vm.id } });
}
