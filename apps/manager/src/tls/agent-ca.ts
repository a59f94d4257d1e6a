import { createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { AgentTlsMaterial } from '@hearth/contract';

x509.cryptoProvider.set(webcrypto as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** The manager's CA outlives many agent certificates; an agent's is re-issued at each registration. */
const CA_DAYS = 3650;
const AGENT_DAYS = 825;

/** The URI every agent certificate of this CA carries: the host it was issued to, nothing else. */
export const hostUri = (hostId: string) => `urn:hearth:host:${hostId}`;

export interface AgentCaFiles {
  /** The operator's CA certificate and key (PEM) to issue agent certificates with, instead of one made here. */
  certFile?: string;
  keyFile?: string;
  /** More CAs (PEM bundle) whose certificates agents may present: operator-supplied agent certificates. */
  trustFile?: string;
}

/** What the manager's agent client trusts: these CAs only, never the system's roots. */
export interface AgentTrust {
  ca: string[];
}

/**
 * The certificate authority behind manager ↔ agent TLS: made on first start in
 * `<data dir>/ca` (key 0600) unless the operator gives one; issues each host a key and a
 * certificate naming its host id at registration.
 */
export class AgentCa {
  private constructor(
    readonly certPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
    private readonly signing: EcdsaParams | RsaHashedImportParams,
    readonly trust: AgentTrust,
  ) {}

  static async open(dataDir: string, files: AgentCaFiles = {}): Promise<AgentCa> {
    let certPem: string;
    let keyPem: string;
    if (files.certFile || files.keyFile) {
      if (!files.certFile || !files.keyFile) {
        throw new Error('An operator CA for agents needs both its certificate and its key file.');
      }
      certPem = await readFile(files.certFile, 'utf8');
      keyPem = await readFile(files.keyFile, 'utf8');
    } else {
      const dir = join(dataDir, 'ca');
      const existing = await readBoth(join(dir, 'ca.crt'), join(dir, 'ca.key'));
      if (existing) [certPem, keyPem] = existing;
      else [certPem, keyPem] = await createCa(dir);
    }
    const { key, signing } = await importSigningKey(keyPem);
    const cert = new x509.X509Certificate(certPem);
    const extra = files.trustFile ? [await readFile(files.trustFile, 'utf8')] : [];
    return new AgentCa(certPem, cert, key, signing, { ca: [certPem, ...extra] });
  }

  /** A fresh key and a certificate for `hostId`, valid for TLS server use only. */
  async issue(hostId: string): Promise<AgentTlsMaterial> {
    const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      subject: `CN=${hostId}`,
      issuer: this.cert.subject,
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + AGENT_DAYS * DAY),
      signingAlgorithm: this.signing,
      publicKey: keys.publicKey,
      signingKey: this.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: hostUri(hostId) }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    return { ca: this.certPem, cert: cert.toString('pem'), key: await keyToPem(keys.privateKey) };
  }
}

async function readBoth(certPath: string, keyPath: string): Promise<[string, string] | null> {
  try {
    return [await readFile(certPath, 'utf8'), await readFile(keyPath, 'utf8')];
  } catch {
    return null;
  }
}

async function createCa(dir: string): Promise<[string, string]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=Hearth agent CA ${randomBytes(4).toString('hex')}`,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + CA_DAYS * DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  const keyPem = await keyToPem(keys.privateKey);
  const keyPath = join(dir, 'ca.key');
  await writeFile(keyPath, keyPem, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(join(dir, 'ca.crt'), certPem, { mode: 0o644 });
  return [certPem, keyPem];
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** The CA's key in any PEM form node reads (PKCS#8, SEC1, PKCS#1), as a WebCrypto signing key. */
async function importSigningKey(pem: string) {
  const k = createPrivateKey(pem);
  const der = k.export({ type: 'pkcs8', format: 'der' });
  if (k.asymmetricKeyType === 'ec') {
    const curve = { prime256v1: 'P-256', secp384r1: 'P-384' }[k.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new Error('The agent CA key must be an EC key on P-256 or P-384, or RSA.');
    const signing = { name: 'ECDSA', namedCurve: curve, hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
    return { key: await webcrypto.subtle.importKey('pkcs8', der, signing, false, ['sign']), signing };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const signing = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await webcrypto.subtle.importKey('pkcs8', der, signing, false, ['sign']), signing };
  }
  throw new Error(`The agent CA key is ${k.asymmetricKeyType}; EC (P-256, P-384) or RSA is needed.`);
}

/** A certificate's pin: the SHA-256 of its DER encoding, hex. */
export const pinOf = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

/** The pin of a PEM certificate (the first of a bundle); throws on anything that is not one. */
export const pemPin = (pem: string): string => pinOf(new X509Certificate(pem).raw);

/**
 * Whether the certificate a server presented is the one `hostId` holds now. It must name the host
 * (issued by our CA at its registration) or, for operator-supplied certificates, pass the usual
 * host-name check against the URL; and when the host's certificates are pinned (`pins`: what its
 * last registration or rotation issued or supplied) be one of them, so any certificate the host
 * held before, or one of a removed host, is refused although it still verifies against the CA.
 */
export function checkAgentIdentity(
  hostId: string,
  pins: readonly string[] | null | undefined,
  hostname: string,
  cert: { subjectaltname?: string; raw?: Buffer },
  fallback: (hostname: string, cert: never) => Error | undefined,
): Error | undefined {
  const names = (cert.subjectaltname ?? '').split(/,\s*/);
  if (!names.includes(`URI:${hostUri(hostId)}`)) {
    if (names.some((n) => n.startsWith('URI:urn:hearth:host:'))) {
      return new Error(`the agent's certificate was issued to another host, not ${hostId}`);
    }
    const wrongName = fallback(hostname, cert as never);
    if (wrongName) return wrongName;
  }
  if (pins && !(cert.raw && pins.includes(pinOf(cert.raw)))) {
    return new Error(
      `the agent's certificate is not the one host ${hostId} holds now (replaced by a rotation or a registration, or its host was removed)`,
    );
  }
  return undefined;
}
