import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { HearthError, parseDuration } from '@hearth/contract';
import type { Stores } from './store/index.ts';
import { generatePassword, hashPassword } from './auth/passwords.ts';
import { ImportAllowList } from './images/egress-guard.ts';
import { DEFAULT_IDEMPOTENCY } from './store/idempotency.ts';

/** What the manager sets up on start from its data directory and settings: secrets, first admin. */

async function readSecret(path: string): Promise<string | null> {
  return readFile(path, 'utf8').then(
    (t) => t.trim() || null,
    () => null,
  );
}

/**
 * The bootstrap admin token, unless it was revoked: then no start issues one again (the revoked
 * row stays as the marker, in the database every manager shares) and a leftover admin.token
 * file, whose secret no longer works, is removed. Users sign in with their own credentials.
 */
export async function ensureAdminToken(stores: Stores, dataDir: string, log: Logger, fixed?: string) {
  if (await stores.tokens.bootstrapRevoked()) {
    const path = join(dataDir, 'admin.token');
    if (await readSecret(path)) {
      log.warn({ path }, 'the bootstrap admin token was revoked; removing its file');
    } else log.info('the bootstrap admin token was revoked; none is issued');
    await rm(path, { force: true });
    return '';
  }
  return ensureSecret(stores, dataDir, 'admin', fixed);
}

/** The admin and join tokens live in 0600 files in the data directory; created on first start. */
export async function ensureSecret(
  stores: Stores,
  dataDir: string,
  kind: 'admin' | 'join',
  fixed?: string,
): Promise<string> {
  const path = join(dataDir, `${kind}.token`);
  const token =
    fixed ?? (await readSecret(path)) ?? (await stores.tokens.create(kind, `${kind} (first start)`));
  await stores.tokens.create(kind, `${kind} token`, null, token);
  await writeFile(path, token + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
  return token;
}

/** User name of the first administrator. */
const FIRST_ADMIN = 'admin';

/**
 * With no users yet, creates `admin`: a platform administrator and owner of `default`, with the
 * configured password or a random one written 0600 to `admin.password` (never logged).
 */
export async function ensureFirstAdmin(
  stores: Stores,
  dataDir: string,
  configured: string | undefined,
): Promise<FirstAdmin | null> {
  if ((await stores.users.count()) > 0) return null;
  const password = configured || generatePassword();
  let user;
  try {
    user = await stores.users.create({
      name: FIRST_ADMIN,
      display_name: 'Administrator',
      admin: true,
      password_hash: await hashPassword(password),
    });
  } catch (e) {
    // Another manager on the same database created it first.
    if (e instanceof HearthError && e.code === 'USER_NAME_TAKEN') return null;
    throw e;
  }
  await stores.projects.setMember('default', user.id, 'owner');
  if (configured) return { name: FIRST_ADMIN, password: null, passwordFile: null };
  const passwordFile = join(dataDir, 'admin.password');
  await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  await chmod(passwordFile, 0o600);
  return { name: FIRST_ADMIN, password, passwordFile };
}

export function importAllowList(configured: string[] | undefined): ImportAllowList {
  try {
    return configured
      ? new ImportAllowList(configured)
      : ImportAllowList.fromEnv(process.env.HEARTH_IMPORT_ALLOW);
  } catch (e) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Reading the import allow-list (HEARTH_IMPORT_ALLOW) failed: ${(e as Error).message}.`,
    );
  }
}

/** A duration setting (`90d`, `12h`, `5m`), or VALIDATION_FAILED naming it. */
export function durationSetting(what: string, value: string): number {
  const ms = parseDuration(value);
  if (!ms) {
    throw new HearthError(
      'VALIDATION_FAILED',
      `Reading the ${what} failed: "${value}" is not a duration like 90d, 12h or 5m.`,
    );
  }
  return ms;
}

/** How long Idempotency-Keys are kept, and when a claim is taken for dead: settings, else env, else defaults. */
export function idempotencySettings(cfg: {
  idempotencyRetention?: string;
  idempotencyPendingTimeout?: string;
}) {
  return {
    retentionMs: durationSetting(
      'idempotency key retention',
      cfg.idempotencyRetention ?? process.env.HEARTH_IDEMPOTENCY_RETENTION ?? DEFAULT_IDEMPOTENCY.retention,
    ),
    pendingMs: durationSetting(
      'idempotency pending timeout',
      cfg.idempotencyPendingTimeout ??
        process.env.HEARTH_IDEMPOTENCY_PENDING_TIMEOUT ??
        DEFAULT_IDEMPOTENCY.pendingTimeout,
    ),
  };
}

/** The first administrator created on this start (null when users existed). */
export interface FirstAdmin {
  name: string;
  /** The generated password (null when configured). */
  password: string | null;
  passwordFile: string | null;
}
