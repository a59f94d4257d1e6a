import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes in a self-describing format, `scrypt$N$r$p$salt$hash` (salt and hash in
 * base64url), so the cost can rise later and old hashes still verify. scrypt is node:crypto's
 * (OpenSSL's implementation): no native add-on to build. The password itself is never stored.
 */

/**
 * Cost: N=2^15, r=8, p=3, one of OWASP's equivalent scrypt minimums (with 2^17/8/1), using
 * 32 MiB per hash instead of 128 MiB.
 */
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 3 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, opts, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `cost` is for tests that hash many throwaway passwords; the hash records it, so it verifies as usual. */
export async function hashPassword(
  password: string,
  cost: { N: number; r: number; p: number } = DEFAULT_PARAMS,
): Promise<string> {
  const { N, r, p } = cost;
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, N, r, p);
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches `stored`; false for a malformed or unknown format, never a throw. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds: a corrupted row must not make one sign-in allocate gigabytes.
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return false;
  if (r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length === 0) return false;
  const key = await derive(password, salt, N, r, p).catch(() => null);
  if (!key || key.length !== expected.length) return false;
  return timingSafeEqual(key, expected);
}

let dummy: Promise<string> | null = null;

/**
 * Spends the same time as checking a real password, for sign-ins of unknown users (or users
 * without a password), so the answer's timing does not tell which names exist.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummy);
  return false;
}

/** A random password for the first administrator: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
