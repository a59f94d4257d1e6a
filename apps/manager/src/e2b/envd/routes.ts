import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Vm } from '@hearth/contract';
import type { AgentClient } from '../../services/agent-client.ts';
import type { Stores } from '../../store/index.ts';
import type { Sandboxes } from '../sandboxes.ts';
import { EnvdError, type ResolveSandbox } from './context.ts';
import { installConnectParsers, sendUnaryError, toEnvdError } from './connect.ts';
import { registerEnvdProcess } from './process.ts';
import { registerEnvdFilesystem } from './filesystem/index.ts';
import { registerEnvdFiles } from './files.ts';

export const SANDBOX_HEADER = 'e2b-sandbox-id';
const TOKEN_HEADER = 'x-access-token';

/** The resolver every envd handler starts with: the sandbox named by the header, its token checked. */
export function sandboxResolver(sandboxes: Sandboxes): ResolveSandbox {
  return async (req: FastifyRequest): Promise<Vm> => {
    const id = req.headers[SANDBOX_HEADER];
    if (typeof id !== 'string' || !id) {
      throw new EnvdError('invalid_argument', 'the E2b-Sandbox-Id header is missing');
    }
    const token = req.headers[TOKEN_HEADER];
    const found = await sandboxes.forEnvd(id, typeof token === 'string' ? token : undefined);
    if (found === 'unknown') throw new EnvdError('not_found', `sandbox "${id}" not found`);
    if (found === 'token') {
      throw token
        ? new EnvdError('permission_denied', `the access token is not the one of sandbox "${id}"`)
        : new EnvdError('unauthenticated', 'the X-Access-Token header is missing');
    }
    if (found.vm.state !== 'running') {
      const state = found.row.paused_snapshot ? 'paused' : found.vm.state;
      throw new EnvdError('failed_precondition', `sandbox "${id}" is ${state}, not running`);
    }
    return found.vm;
  };
}

export interface EnvdDeps {
  sandboxes: Sandboxes;
  agents: AgentClient;
  stores: Stores;
}

/** A sandbox's envd: its Connect services and its HTTP routes, on the sandbox the header names. */
export async function envdRoutes(app: FastifyInstance, deps: EnvdDeps): Promise<void> {
  installConnectParsers(app);
  // Set before any route is added: a route takes the handler its context has when it is added.
  app.setErrorHandler((err, _req, reply) => sendUnaryError(reply, toEnvdError(err)));
  const resolve = sandboxResolver(deps.sandboxes);
  const hostOf = async (vm: Vm) => {
    if (!vm.host) throw new EnvdError('unavailable', `sandbox VM ${vm.id} is not placed on a host`);
    return deps.stores.hosts.requireForCall(vm.host);
  };
  const hasFile = async (vm: Vm, path: string) =>
    deps.agents
      .call(await hostOf(vm), 'statFile', { params: { id: vm.id }, query: { path } })
      .then(() => true)
      .catch(() => false);

  // envd answers its health check without a token.
  app.get('/health', async (_req, reply) => reply.code(204).send());

  registerEnvdProcess(app, { resolve, agents: deps.agents, hostOf, hasFile });

  const fs = { resolve, agents: deps.agents, stores: deps.stores };
  await registerEnvdFilesystem(app, fs);
  await registerEnvdFiles(app, fs);
}
