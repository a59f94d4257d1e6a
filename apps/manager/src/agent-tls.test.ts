import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';
import { afterAll, expect, it } from 'vitest';
import type { AgentTlsMaterial } from '@hearth/contract';
import { buildAgentApp } from '@hearth/agent';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { testLog } from '../../../test/helpers/platform.ts';
import { AgentCa } from './tls/agent-ca.ts';

// Manager ↔ agent TLS: the manager's CA issues each host a certificate at registration, agents
// serve HTTPS only, and the manager accepts no certificate but the host's own from its CA.
describeOnBackends('manager ↔ agent TLS', (db) => {
  const api = useApiPlatform({ db, host: null });
  const servers: { close(): Promise<unknown> }[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /**
   * An agent API (no VMs behind it) serving HTTPS only, before it has a certificate, as a real
   * agent does until its registration answers; `use` switches to a key and certificate.
   */
  const serveAgent = async (callbackToken: string) => {
    const app = buildAgentApp({
      https: {},
      supervisor: { dataDir: '/nonexistent', list: () => [] } as never,
      callbackToken,
      log: testLog(),
    });
    servers.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    return {
      url: `https://127.0.0.1:${port}`,
      port,
      use: (m: { key: string; cert: string }) =>
        (app.server as unknown as TlsServer).setSecureContext({ key: m.key, cert: m.cert }),
    };
  };

  const token = 'c'.repeat(40);
  const register = async (name: string, url: string) => {
    const r = await api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${api.p.manager.joinToken}` },
      payload: { name, url, callbackToken: token, inventory: fakeInventory, certificate: 'issue' },
    });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { host: { id: string }; tls: AgentTlsMaterial };
  };
  /** A manager → agent call through the public API: new credentials for the host. */
  const rotate = (host: string) =>
    api.inject({ method: 'POST', url: `/v1/hosts/${host}/rotate-credentials` });

  it('makes a CA on first start, its key readable by the manager only', async () => {
    const key = await stat(join(api.p.dir, 'manager', 'ca', 'ca.key'));
    expect(key.mode & 0o777).toBe(0o600);
  });

  let good: { id: string; tls: AgentTlsMaterial; port: number } | null = null;

  it('issues each host a certificate naming it, and calls its agent over verified HTTPS', async () => {
    const agent = await serveAgent(token);
    const reg = await register('tls-good', agent.url);
    const cert = new X509Certificate(reg.tls.cert);
    expect(cert.subjectAltName).toBe(`URI:urn:hearth:host:${reg.host.id}`);
    expect(cert.verify(new X509Certificate(reg.tls.ca).publicKey)).toBe(true);
    agent.use(reg.tls);
    const r = await rotate('tls-good');
    expect(r.statusCode, r.body).toBe(200);
    good = { id: reg.host.id, tls: reg.tls, port: agent.port };
  });

  it('the agent refuses plain HTTP', async () => {
    const answer = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: good!.port, path: '/healthz' }, (res) =>
        resolve(`HTTP ${res.statusCode}`),
      );
      req.on('error', (e) => resolve(`refused: ${e.message}`));
      req.end();
    });
    expect(answer).toMatch(/^refused/);
  });

  it('refuses an agent certificate from another CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-other-ca-'));
    dirs.push(dir);
    const otherCa = await AgentCa.open(dir);
    const agent = await serveAgent(token);
    const reg = await register('tls-foreign', agent.url);
    agent.use(await otherCa.issue(reg.host.id));
    const r = await rotate('tls-foreign');
    expect(r.statusCode).toBe(502);
    expect(r.json().error.code).toBe('AGENT_CERTIFICATE_INVALID');
  });

  it("refuses another host's certificate from the same CA", async () => {
    const agent = await serveAgent(token);
    await register('tls-impostor', agent.url);
    agent.use(good!.tls);
    const r = await rotate('tls-impostor');
    expect(r.statusCode).toBe(502);
    expect(r.json().error).toMatchObject({
      code: 'AGENT_CERTIFICATE_INVALID',
      message: expect.stringContaining('another host'),
    });
  });
});
