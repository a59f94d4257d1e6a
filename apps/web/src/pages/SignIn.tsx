import { useState, type FormEvent } from 'react';
import { clientFor, useSessionState } from '../api/session.tsx';
import { Field, inputClass } from '../components/Field.tsx';
import { Button } from '../components/ui.tsx';

/** Token sign-in: the token is checked against the API before it is kept. */
export function SignIn() {
  const { signIn } = useSessionState();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await clientFor(token.trim()).call('listHosts', { query: { limit: 1 } });
      signIn(token.trim());
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form
        onSubmit={(e) => void submit(e)}
        className="w-full max-w-md space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900"
      >
        <h1 className="text-2xl font-semibold">Sign in to Hearth</h1>
        <Field
          label="API token"
          hint={
            <>
              On the machine running <code>hearth up</code>: <code>/var/lib/hearth/admin.token</code> (or{' '}
              <code>admin.token</code> in its <code>--data-dir</code>).
            </>
          }
          errors={error ? [error] : undefined}
        >
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="current-password"
              className={inputClass}
              value={token}
              onChange={(e) => setToken(e.target.value)}
              required
            />
          )}
        </Field>
        <Button type="submit" variant="primary" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
        <p className="text-xs text-slate-600 dark:text-slate-300">
          Users with passwords are not available in this version; tokens are the only sign-in.
        </p>
      </form>
    </main>
  );
}
