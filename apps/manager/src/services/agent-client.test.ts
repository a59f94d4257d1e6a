import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentApp } from '@hearth/agent';
import { agentPath, errorCatalogue, HearthError } from '@hearth/contract';
import { installErrorHandling } from '../http.ts';
import { AgentClient } from './agent-client.ts';
import { agentError } from './agent-errors.ts';
import { HostLiveness } from './host-liveness.ts';

const log = pino({ level: 'silent' });
const TOKEN = 't'.repeat(32);
/** What a supervisor refuses with: a catalogue code, its own hint and detail. */
const refusal = new HearthError('VM_INVALID_STATE', 'Stopping VM vm1 failed: it is paused.', {
  hint: 'Resume the VM first, then stop it.',
  detail: { phase: 'paused' },
});
const supervisor = {
  dataDir: '/nonexistent',
  stop: async () => {
    throw refusal;
  },
  pause: async () => {
    throw new Error('the VMM control socket closed');
  },
};

let agent: FastifyInstance;
let target = { id: 'host_1', url: '', callback_token: TOKEN };
const live = new HostLiveness();
const agents = new AgentClient(live, 0);

beforeAll(async () => {
  agent = buildAgentApp({ supervisor: supervisor as never, callbackToken: TOKEN, log });
  await agent.listen({ host: '127.0.0.1', port: 0 });
  target = { ...target, url: `http://127.0.0.1:${(agent.server.address() as { port: number }).port}` };
  live.seen(target);
});
afterAll(async () => {
  live.dispose();
  await agent.close();
});

describe("an agent's errors at the manager", () => {
  it("reach the caller with the agent's own code, status, message, hint and detail", async () => {
    const e = await agents.stop(target, 'vm1', false, 1000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HearthError);
    expect(e).toMatchObject({
      code: 'VM_INVALID_STATE',
      status: 409,
      message: refusal.message,
      hint: refusal.hint,
      detail: refusal.detail,
    });
  });

  it("leave the manager's API in its envelope as the agent sent them", async () => {
    const manager = Fastify({ logger: false });
    installErrorHandling(manager);
    manager.post('/stop', async () => agents.stop(target, 'vm1', false, 1000));
    const res = await manager.inject({ method: 'POST', url: '/stop' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({
      code: 'VM_INVALID_STATE',
      message: refusal.message,
      hint: refusal.hint,
    });
    await manager.close();
  });

  it("are the request's validation failure when the body breaks the contract", async () => {
    const e = await agents
      .call(target, 'startVm', { params: { id: 'vm1' }, body: { id: 'vm1' } as never })
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect((e as HearthError).fields).toHaveProperty('vcpus');
  });

  it('make a plain failure on the agent its AGENT_ERROR, naming the host and the call', async () => {
    const e = await agents.pause(target, 'vm1').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'AGENT_ERROR', status: 502, hint: errorCatalogue.AGENT_ERROR.hint });
    expect((e as HearthError).message).toBe(
      `The agent of host host_1 refused POST ${agentPath('pauseVm', { params: { id: 'vm1' } })}: the VMM control socket closed`,
    );
    expect((e as HearthError).detail).toMatchObject({ status: 500 });
  });

  it("do not pass a refused callback token on as the user's own 401", async () => {
    const wrong = { ...target, callback_token: 'w'.repeat(32) };
    live.seen(wrong);
    const e = await agents.stop(wrong, 'vm1', false, 1000).catch((x: unknown) => x);
    live.seen(target);
    expect(e).toMatchObject({ code: 'AGENT_ERROR', status: 502, detail: { status: 401 } });
  });

  it('keep the catalogue code of an agent from before the envelope', () => {
    const old = JSON.stringify({ error: 'snapshot s1 is not on this host', code: 'SNAPSHOT_NOT_FOUND' });
    expect(
      agentError(target, 'DELETE', agentPath('deleteSnapshot', { params: { snapshotId: 's1' } }), 404, old),
    ).toMatchObject({
      code: 'SNAPSHOT_NOT_FOUND',
      status: 404,
      message: 'snapshot s1 is not on this host',
    });
    const plain = JSON.stringify({ error: 'bad snapshot id' });
    expect(
      agentError(target, 'DELETE', agentPath('deleteSnapshot', { params: { snapshotId: 's1' } }), 400, plain),
    ).toMatchObject({
      code: 'AGENT_ERROR',
      detail: { status: 400 },
    });
  });
});
