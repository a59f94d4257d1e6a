import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect } from 'vitest';
import { Sandbox } from 'e2b';
import type { Vm } from '@hearth/contract';
import { late } from '../../../../../../../test/helpers/late.ts';
import { startPlatform, type Platform } from '../../../../../../../test/helpers/platform.ts';
import type { AgentClient } from '../../../../services/agent-client.ts';
import { registerEnvdFiles } from '../../files.ts';
import { registerEnvdFilesystem } from '../index.ts';

/** The envd version the control plane reports (recursive watch needs ≥ 0.1.4, no `user` default ≥ 0.4.0). */
export const ENVD_VERSION = '0.4.0';

/**
 * A real VM (user alice) on a real platform, and the envd filesystem and /files routes mounted
 * under /e2b on a fastify instance of their own, with a `resolve` that answers that VM (the
 * access token is the control plane's business). `sandbox(version)` is the e2b SDK's own
 * Sandbox pointed at those routes.
 */
export function useEnvdSandbox() {
  const platform = late<Platform>('the platform');
  const guest = late<Vm>('the VM');
  const server = late<{ app: FastifyInstance; url: string }>('the envd routes');
  const t = {
    get p(): Platform {
      return platform.get();
    },
    get vm(): Vm {
      return guest.get();
    },
    /** Where the SDK's E2B_SANDBOX_URL points. */
    get url(): string {
      return `${server.get().url}/e2b`;
    },
    sandbox(envdVersion = ENVD_VERSION): Sandbox {
      // The SDK's constructor is internal: Sandbox.connect would ask the control plane first.
      const Ctor = Sandbox as unknown as new (opts: Record<string, unknown>) => Sandbox;
      return new Ctor({
        sandboxId: t.vm.id,
        envdVersion,
        sandboxUrl: t.url,
        apiKey: 'e2b_unused',
        requestTimeoutMs: 120_000,
      });
    },
    /** Runs a shell command in the guest through Hearth's own API (as root). */
    async sh(command: string): Promise<string> {
      const r = await t.p.client.call('execVm', { params: { id: t.vm.id }, body: { command } });
      expect(r.exitCode, r.stderr).toBe(0);
      return r.stdout;
    },
  };
  beforeAll(async () => {
    const p = platform.set(await startPlatform());
    const created = await p.client.call('createVm', {
      body: { name: 'envd-fs', user: 'alice', password: 'correct horse', memoryMib: 192 },
    });
    const vm = guest.set(
      await p.client.call('waitVm', {
        params: { id: created.id },
        query: { state: 'running', timeout: 540 },
      }),
    );
    expect(vm.state).toBe('running');
    // The manager's own agent client: it knows where the host's agent listens.
    const agents = (p.manager.vmService as unknown as { ctx: { agents: AgentClient } }).ctx.agents;
    const deps = {
      resolve: async () => guest.get(),
      agents,
      stores: p.manager.stores,
    };
    const app = Fastify();
    await app.register(
      async (e2b) => {
        await registerEnvdFilesystem(e2b, deps);
        await registerEnvdFiles(e2b, deps);
      },
      { prefix: '/e2b' },
    );
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    server.set({ app, url });
  }, 600_000);
  afterAll(async () => {
    await server.peek()?.app.close();
    await platform.peek()?.dispose();
  });
  return t;
}
