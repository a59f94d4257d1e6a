import type { RunningManager } from '../manager.ts';
import { hashPassword } from '../auth/passwords.ts';
import { SESSION_COOKIE } from '../auth/session-cookie.ts';

let seq = 0;
/** Throwaway test passwords need no real cost; the first administrator's hash keeps the default. */
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

/** A user with a password, member of `default` as operator, straight in the database. */
export async function passwordUser(
  m: RunningManager,
  opts: { password?: string; disabled?: boolean } = {},
): Promise<{ id: string; name: string; password: string }> {
  const name = `pw-${process.pid}-${++seq}`;
  const password = opts.password ?? `secret-${name}-pass`;
  const u = await m.stores.users.create({ name, password_hash: await hashPassword(password, CHEAP) });
  if (opts.disabled) await m.stores.users.patch(u.id, { disabled: true });
  await m.stores.projects.setMember('default', u.id, 'operator');
  return { id: u.id, name, password };
}

export interface SignedIn {
  cookie: string;
  csrf: string;
  setCookie: string;
  /** Headers of a cookie-authenticated browser request (add the CSRF header for writes). */
  headers: (write?: boolean) => Record<string, string>;
}

/** Signs in for a session over app.inject; throws unless it succeeded. */
export async function signIn(
  m: RunningManager,
  username: string,
  password: string,
  remoteAddress = '127.0.0.1',
): Promise<SignedIn> {
  const r = await m.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { username, password },
    remoteAddress,
  });
  if (r.statusCode !== 200) throw new Error(`sign-in failed: ${r.statusCode} ${r.body}`);
  const setCookie = String(r.headers['set-cookie']);
  const value = /hearth_session=([^;]+)/.exec(setCookie)![1]!;
  const cookie = `${SESSION_COOKIE}=${value}`;
  const csrf = (r.json() as { csrf: string }).csrf;
  return {
    cookie,
    csrf,
    setCookie,
    headers: (write = false) => ({ cookie, ...(write ? { 'x-csrf-token': csrf } : {}) }),
  };
}
