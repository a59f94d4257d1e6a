import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { HearthClient } from '@hearth/sdk';
import { withProject } from './project.tsx';

const TOKEN_KEY = 'hearth.token';
const SESSION_KEY = 'hearth.session';

/** How the browser proves who it is: an API token it sends, or a session cookie it cannot read. */
export interface Credentials {
  token?: string;
  /** The cookie session's CSRF value, sent as X-CSRF-Token on writes. */
  csrf?: string;
}

interface Session {
  /** Changes with each sign-in (one query cache per sign-in). */
  key: string;
  /** `session`: username and password (HTTP-only cookie); `token`: an API token. */
  kind: 'session' | 'token';
  /** The signed-in user's name (session sign-in only). */
  user: string | null;
  credentials: Credentials;
  client: HearthClient;
  signOut(): void;
}

type Stored = { kind: 'token'; token: string } | { kind: 'session'; csrf: string; user: string };

interface SessionState {
  session: Session | null;
  /** Keeps an API token (checked by the caller). */
  signIn(token: string): void;
  /** Signs in with a user name and password: the manager sets the session cookie. */
  signInWithPassword(username: string, password: string): Promise<void>;
}

const Ctx = createContext<SessionState | null>(null);

/** The API lives on the origin that served the page (the manager serves both). */
export const clientFor = (c: Credentials | string) =>
  new HearthClient({
    baseUrl: window.location.origin,
    ...(typeof c === 'string' ? { token: c } : c),
    fetch: withProject(),
  });

function load(): Stored | null {
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) return { kind: 'token', token };
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as {
      csrf?: string;
      user?: string;
    } | null;
    return s?.csrf ? { kind: 'session', csrf: s.csrf, user: s.user ?? '' } : null;
  } catch {
    return null;
  }
}

/**
 * The sign-in survives a reload (and new tabs): a token is kept in localStorage; a session's
 * secret is an HTTP-only cookie the page never sees, and only its CSRF value is kept here.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [stored, setStored] = useState<Stored | null>(load);
  // A session cookie set without this page (single sign-on comes back with one): ask who we are.
  useEffect(() => {
    if (load()) return;
    let live = true;
    clientFor({})
      .call('me')
      .then((me) => {
        if (!live || me.via !== 'session' || !me.csrf || load()) return;
        const s: Stored = { kind: 'session', csrf: me.csrf, user: me.user?.name ?? '' };
        localStorage.setItem(SESSION_KEY, JSON.stringify({ csrf: s.csrf, user: s.user }));
        setStored(s);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  const signIn = useCallback((t: string) => {
    localStorage.removeItem(SESSION_KEY);
    localStorage.setItem(TOKEN_KEY, t);
    setStored({ kind: 'token', token: t });
  }, []);
  const signInWithPassword = useCallback(async (username: string, password: string) => {
    const r = await clientFor({}).call('login', { body: { username, password, issue: 'session' } });
    const s: Stored = { kind: 'session', csrf: r.csrf ?? '', user: r.user.name };
    localStorage.removeItem(TOKEN_KEY);
    localStorage.setItem(SESSION_KEY, JSON.stringify({ csrf: s.csrf, user: s.user }));
    setStored(s);
  }, []);
  const signOut = useCallback(() => {
    const current = load();
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(SESSION_KEY);
    setStored(null);
    // Ends the session on the manager (and clears its cookie); an expired one is gone already.
    if (current?.kind === 'session') {
      void clientFor({ csrf: current.csrf })
        .call('logout')
        .catch(() => undefined);
    }
  }, []);
  const value = useMemo<SessionState>(() => {
    if (!stored) return { session: null, signIn, signInWithPassword };
    const credentials: Credentials =
      stored.kind === 'token' ? { token: stored.token } : { csrf: stored.csrf };
    return {
      session: {
        key: stored.kind === 'token' ? stored.token : stored.csrf,
        kind: stored.kind,
        user: stored.kind === 'session' ? stored.user : null,
        credentials,
        client: clientFor(credentials),
        signOut,
      },
      signIn,
      signInWithPassword,
    };
  }, [stored, signIn, signInWithPassword, signOut]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSessionState(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSessionState needs a SessionProvider');
  return s;
}

/** The signed-in session; pages under the signed-in layout may rely on it. */
export function useSession(): Session {
  const s = useSessionState().session;
  if (!s) throw new Error('useSession needs a signed-in user');
  return s;
}
