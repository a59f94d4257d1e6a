import { createHash } from 'node:crypto';
import { connect } from 'node:tls';

/**
 * The SHA-256 (hex, of the DER) of the certificate a TLS server presents at `url` (https: or
 * host:port on loopback); read, not verified: tests compare it with what they expect.
 */
export function servedCertificatePin(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(createHash('sha256').update(raw).digest('hex'));
    });
    s.on('error', reject);
  });
}
