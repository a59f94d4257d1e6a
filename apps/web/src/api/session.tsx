import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { HearthClient } from '@hearth/sdk';
import { withProject } from './project.tsx';

const TOKEN_KEY = 'hearth.token';

interface Session {
  token: string;
  client: HearthClient;
  signOut(): void;
}

interface SessionState {
  session: Session | null;
  signIn(token: string): void;
}

const Ctx = createContext<SessionState | null>(null);

/** The API lives on the origin that served the page (the manager serves both). */
export const clientFor = (token: string) =>
  new HearthClient({ baseUrl: window.location.origin, token, fetch: withProject() });

/** The token is kept in localStorage so a reload (or a new tab) stays signed in. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState(() => localStorage.getItem(TOKEN_KEY));
  const signIn = useCallback((t: string) => {
    localStorage.setItem(TOKEN_KEY, t);
    setToken(t);
  }, []);
  const signOut = useCallback(() => {
    localStorage.removeItem(TOKEN_KEY);
    setToken(null);
  }, []);
  const value = useMemo<SessionState>(
    () => ({ session: token ? { token, client: clientFor(token), signOut } : null, signIn }),
    [token, signIn, signOut],
  );
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
