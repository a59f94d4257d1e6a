import { useState, type FormEvent, type ReactNode } from 'react';
import { clientFor, useSessionState } from '../api/session.tsx';
import { Field, inputClass } from '../components/Field.tsx';
import { Button } from '../components/ui.tsx';
import { SsoButton } from '../components/SsoButton.tsx';

const formClass =
  'space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900';

/** Runs a sign-in attempt with a busy flag and the API's refusal as the form's error. */
function useAttempt() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (e: FormEvent, attempt: () => Promise<void>) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await attempt();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

/**
 * Sign-in with user name and password (a session cookie the page cannot read), or with an API
 * token (checked against the API before it is kept).
 */
export function SignIn() {
  const { signIn, signInWithPassword } = useSessionState();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const pw = useAttempt();
  const tk = useAttempt();

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-md space-y-6">
        <h1 className="text-2xl font-semibold">Sign in to Hearth</h1>
        <SsoButton />
        <form
          aria-label="Sign in with a password"
          onSubmit={(e) => void pw.run(e, () => signInWithPassword(username.trim(), password))}
          className={formClass}
        >
          <Field label="User name">
            {(p) => (
              <input
                {...p}
                autoComplete="username"
                className={inputClass}
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                required
              />
            )}
          </Field>
          <Field
            label="Password"
            hint={
              <>
                The first administrator is <code>admin</code>; <code>hearth up</code> prints its one-time
                password (also in <code>admin.password</code> in its data directory).
              </>
            }
            errors={pw.error ? [pw.error] : undefined}
          >
            {(p) => (
              <input
                {...p}
                type="password"
                autoComplete="current-password"
                className={inputClass}
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            )}
          </Field>
          <Button type="submit" variant="primary" disabled={pw.busy || !username.trim() || !password}>
            {pw.busy ? 'Signing in…' : 'Sign in'}
          </Button>
        </form>
        <Divider>or with an API token</Divider>
        <form
          aria-label="Token sign-in"
          onSubmit={(e) =>
            void tk.run(e, async () => {
              await clientFor(token.trim()).call('listHosts', { query: { limit: 1 } });
              signIn(token.trim());
            })
          }
          className={formClass}
        >
          <Field
            label="API token"
            hint={
              <>
                On the machine running <code>hearth up</code>: <code>/var/lib/hearth/admin.token</code> (or{' '}
                <code>admin.token</code> in its <code>--data-dir</code>), or one from{' '}
                <code>hearth token create</code>.
              </>
            }
            errors={tk.error ? [tk.error] : undefined}
          >
            {(p) => (
              <input
                {...p}
                type="password"
                autoComplete="off"
                className={inputClass}
                value={token}
                onChange={(e) => setToken(e.target.value)}
                required
              />
            )}
          </Field>
          <Button type="submit" disabled={tk.busy || !token.trim()}>
            {tk.busy ? 'Signing in…' : 'Sign in with token'}
          </Button>
        </form>
      </div>
    </main>
  );
}

function Divider({ children }: { children: ReactNode }) {
  return (
    <p className="flex items-center gap-3 text-xs text-slate-600 dark:text-slate-300">
      <span className="h-px flex-1 bg-slate-300 dark:bg-slate-700" />
      {children}
      <span className="h-px flex-1 bg-slate-300 dark:bg-slate-700" />
    </p>
  );
}
