import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';
// @peculiar/x509 needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AgentTlsMaterial } from '@hearth/contract';
import { buildAgentApp } from '@hearth/agent';
import { describeOnBackends, useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { fakeInventory } from '../../../test/helpers/fake-host.ts';
import { testLog } from '../../../test/helpers/platform.ts';
import { servedCertificatePin } from '../../../test/helpers/tls.ts';
import { AgentCa, pinOf } from './tls/agent-ca.ts';

// Manager ↔ agent TLS: the manager's CA issues each host a certificate at registration, agents
// serve HTTPS only, and the manager accepts no certificate but the host's own from its CA.
describeOnBackends('manager ↔ agent TLS', (db) => {
  // An operator's CA, trusted by the manager besides its own, for agents serving their own
  // certificates; made before the manager starts.
  const opDir = join(tmpdir(), `hearth-op-ca-${randomBytes(6).toString('hex')}`);
  let opCa: OperatorCa;
  beforeAll(async () => {
    opCa = await OperatorCa.create(opDir);
  });
  const api = useApiPlatform({
    db,
    host: null,
    platform: { manager: { agentCa: { trustFile: join(opDir, 'ca.crt') } } },
  });
  const servers: { close(): Promise<unknown> }[] = [];
  const dirs: string[] = [opDir];
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
      /** Serves `m` from the next handshake on; idle kept-alive connections close (they would skip it). */
      use: (m: { key: string; cert: string }) => {
        (app.server as unknown as TlsServer).setSecureContext({ key: m.key, cert: m.cert });
        app.server.closeIdleConnections();
      },
    };
  };

  const token = 'c'.repeat(40);
  const registerWith = (name: string, url: string, how: Record<string, string>, bearer?: string) =>
    api.p.manager.app.inject({
      method: 'POST',
      url: '/v1/hosts/register',
      headers: { authorization: `Bearer ${bearer ?? api.p.manager.joinToken}` },
      payload: { name, url, callbackToken: token, inventory: fakeInventory, ...how },
    });
  /** Registers as an agent asking for a certificate; `bearer`: the host's agent credential (a restart). */
  const register = async (name: string, url: string, bearer?: string) => {
    const r = await registerWith(name, url, { certificate: 'issue' }, bearer);
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { host: { id: string }; agentToken: string; tls: AgentTlsMaterial };
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

  it('re-issues the certificate at rotation: the agent serves the new one, the old one is refused', async () => {
    const agent = await serveAgent(token);
    const reg = await register('tls-rotated', agent.url);
    agent.use(reg.tls);
    const first = await servedCertificatePin(agent.url);
    expect((await rotate('tls-rotated')).statusCode).toBe(200);
    // The agent switched without a restart; the manager reaches it over a new handshake.
    const second = await servedCertificatePin(agent.url);
    expect(second).not.toBe(first);
    const again = await rotate('tls-rotated');
    expect(again.statusCode, again.body).toBe(200);
    expect(await servedCertificatePin(agent.url)).not.toBe(second);
    // An agent still serving a certificate the host held before (its old key, copied) is refused.
    agent.use(reg.tls);
    const r = await rotate('tls-rotated');
    expect(r.statusCode, r.body).toBe(502);
    expect(r.json().error).toMatchObject({
      code: 'AGENT_CERTIFICATE_INVALID',
      message: expect.stringContaining('holds now'),
    });
  });

  it('refuses the certificate from before a re-registration (an agent restart re-issues it)', async () => {
    const agent = await serveAgent(token);
    const before = await register('tls-restarted', agent.url);
    const after = await register('tls-restarted', agent.url, before.agentToken);
    expect(after.host.id).toBe(before.host.id);
    agent.use(after.tls);
    expect((await rotate('tls-restarted')).statusCode).toBe(200);
    agent.use(before.tls);
    const r = await rotate('tls-restarted');
    expect(r.statusCode, r.body).toBe(502);
    expect(r.json().error.code).toBe('AGENT_CERTIFICATE_INVALID');
  });

  it('rotates a host registered before pinning, and pins its new certificate', async () => {
    const agent = await serveAgent(token);
    const reg = await register('tls-legacy', agent.url);
    agent.use(reg.tls);
    await api.p.manager.db.query(`UPDATE hosts SET tls_pins = NULL WHERE id = '${reg.host.id}'`);
    const r = await rotate('tls-legacy');
    expect(r.statusCode, r.body).toBe(200);
    const [row] = await api.p.manager.db.query<{ tls_pins: string[] }>(
      `SELECT tls_pins FROM hosts WHERE id = '${reg.host.id}'`,
    );
    expect(row!.tls_pins).toEqual([await servedCertificatePin(agent.url)]);
  });

  it("pins an operator-supplied certificate: a removed host's is refused at the same address", async () => {
    const [certA, certB] = [await opCa.issue('agent-a'), await opCa.issue('agent-b')];
    const agent = await serveAgent(token);
    agent.use(certA);
    const a = await registerWith('tls-op-a', agent.url, { servingCertificate: certA.cert });
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json().tls).toBeUndefined();
    // Rotation leaves the operator's certificate alone: none is issued.
    expect((await rotate('tls-op-a')).statusCode).toBe(200);
    expect(await servedCertificatePin(agent.url)).toBe(pinOf(new X509Certificate(certA.cert).raw));
    const removed = await api.inject({ method: 'DELETE', url: '/v1/hosts/tls-op-a' });
    expect(removed.statusCode, removed.body).toBe(200);

    // Another host enrols at that address with its own certificate from the same trusted CA...
    agent.use(certB);
    const b = await registerWith('tls-op-b', agent.url, { servingCertificate: certB.cert });
    expect(b.statusCode, b.body).toBe(200);
    expect((await rotate('tls-op-b')).statusCode).toBe(200);
    // ...and the removed host's certificate, though it verifies and names the address, is refused.
    agent.use(certA);
    const r = await rotate('tls-op-b');
    expect(r.statusCode, r.body).toBe(502);
    expect(r.json().error).toMatchObject({
      code: 'AGENT_CERTIFICATE_INVALID',
      message: expect.stringContaining('holds now'),
    });
  });

  it('answers 400 to a registration whose servingCertificate is no certificate', async () => {
    const r = await registerWith('tls-op-bad', 'https://127.0.0.1:9', { servingCertificate: 'not a PEM' });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: { servingCertificate: ['a PEM certificate'] },
    });
    expect((await api.inject({ method: 'GET', url: '/v1/hosts/tls-op-bad' })).statusCode).toBe(404);
  });
});

/** An operator's CA issuing ordinary server certificates for 127.0.0.1 (no host id in them). */
class OperatorCa {
  private constructor(
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
  ) {}

  static async create(dir: string): Promise<OperatorCa> {
    await mkdir(dir, { recursive: true });
    // AgentCa makes a CA in <dir>/ca; its certificate is what the manager is told to trust.
    await AgentCa.open(dir);
    const certPem = await readFile(join(dir, 'ca', 'ca.crt'), 'utf8');
    await writeFile(join(dir, 'ca.crt'), certPem);
    const keyPem = await readFile(join(dir, 'ca', 'ca.key'), 'utf8');
    const pkcs8 = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const alg = { name: 'ECDSA', namedCurve: 'P-256' };
    const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign']);
    return new OperatorCa(new x509.X509Certificate(certPem), key);
  }

  async issue(cn: string): Promise<{ key: string; cert: string }> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: `01${randomBytes(8).toString('hex')}`,
      subject: `CN=${cn}`,
      issuer: this.cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: alg,
      publicKey: keys.publicKey,
      signingKey: this.key,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
    });
    const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const key = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
    return { key, cert: cert.toString('pem') };
  }
}
