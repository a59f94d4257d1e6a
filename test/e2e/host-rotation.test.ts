import { createHash, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGet, runAgentProcess, startPlatform, type Platform } from '../helpers/platform.ts';
import type { Proc } from '../helpers/proc.ts';
import { servedCertificatePin } from '../helpers/tls.ts';
import { until } from '../helpers/vm.ts';

// A real agent process (no VM): credentials rotate in both directions while it runs.
describe('rotating a host’s credentials while its agent runs', () => {
  let p: Platform;
  let agent: Proc | null = null;
  const start = () => runAgentProcess(p, `rot-${p.net.bridge}`);
  const identity = async () =>
    JSON.parse(await readFile(join(p.dir, 'agent', 'agent.json'), 'utf8')) as {
      hostId: string;
      agentToken: string;
      callbackToken: string;
    };
  const heartbeat = async (token: string, hostId: string) => {
    const { inventory } = await p.client.call('getHost', { params: { id: hostId } });
    return fetch(`${p.manager.url}/v1/hosts/${hostId}/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inventory, vms: [] }),
    });
  };

  beforeAll(async () => {
    p = await startPlatform({ agent: false });
    agent = start();
    await agent.waitFor('agent registered');
  });
  afterAll(async () => {
    await agent?.kill();
    await p?.dispose();
  });

  it('switches both directions without an agent restart; a restart afterwards keeps the host', async () => {
    const old = await identity();
    const host = await p.client.call('getHost', { params: { id: old.hostId } });
    const certFile = join(p.dir, 'agent', 'tls', 'agent.crt');
    const oldCert = await readFile(certFile, 'utf8');
    const rotated = await p.client.call('rotateHostCredentials', { params: { id: host.name } });
    expect(rotated.hostId).toBe(old.hostId);

    // The agent persisted the new pair (0600) and the manager uses the new callback token.
    const now = await identity();
    expect(now.hostId).toBe(old.hostId);
    expect(now.agentToken).not.toBe(old.agentToken);
    expect(now.callbackToken).not.toBe(old.callbackToken);
    expect((await stat(join(p.dir, 'agent', 'agent.json'))).mode & 0o777).toBe(0o600);
    // A new key and certificate: kept for the next start, and served at once (no restart).
    const newCert = await readFile(certFile, 'utf8');
    expect(newCert).not.toBe(oldCert);
    expect((await stat(join(p.dir, 'agent', 'tls', 'agent.key'))).mode & 0o777).toBe(0o600);
    expect(await servedCertificatePin(host.url)).toBe(
      createHash('sha256').update(new X509Certificate(newCert).raw).digest('hex'),
    );
    const vol = await p.client.call('createVolume', {
      body: { name: 'rot-vol', size: '16mb', format: 'raw' },
    });
    expect(vol.host).toBe(old.hostId);
    const asManager = (token: string) => agentGet(p, `${host.url}/agent/v1/vms`, token);
    expect(await asManager(old.callbackToken)).toBe(401);
    expect(await asManager(now.callbackToken)).toBe(200);

    // The old agent credential is revoked; the agent heartbeats with the new one.
    expect((await heartbeat(old.agentToken, old.hostId)).status).toBe(401);
    const rotatedAt = Date.parse(rotated.rotatedAt);
    await until('a heartbeat after the rotation', async () => {
      const h = await p.client.call('getHost', { params: { id: old.hostId } });
      return Date.parse(h.lastHeartbeatAt) > rotatedAt;
    });

    // The restarted agent proves who it is with its rotated credential: no join token needed.
    const dataDirToken = (await p.client.call('listJoinTokens', { query: { limit: 100 } })).items.find(
      (t) => t.usesLeft === null,
    )!;
    await p.client.call('deleteJoinToken', { params: { id: dataDirToken.id } });
    await agent!.kill();
    agent = start();
    await agent.waitFor('agent registered');
    expect(agent.output()).not.toContain('registering with the join token');
    expect((await identity()).hostId).toBe(old.hostId);
    const hosts = await p.client.all('listHosts');
    expect(hosts.filter((h) => h.name === host.name).map((h) => h.id)).toEqual([old.hostId]);
    await p.client.call('deleteVolume', { params: { id: vol.id } });
  });

  it('leaves the agent a valid credential after rotations asked for at the same time', async () => {
    const { hostId } = await identity();
    const all = await Promise.all(
      [1, 2, 3].map(() => p.client.call('rotateHostCredentials', { params: { id: hostId } })),
    );
    expect(all.map((r) => r.hostId)).toEqual([hostId, hostId, hostId]);
    const now = await identity();
    expect((await heartbeat(now.agentToken, hostId)).status).toBe(200);
    const host = await p.client.call('getHost', { params: { id: hostId } });
    expect(host.state).toBe('ready');
  });
});
