import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from 'react-router';
import { HearthError } from '@hearth/contract';
import { ProjectProvider } from './api/project.tsx';
import { SessionProvider, useSessionState } from './api/session.tsx';
import { router } from './router.tsx';
import { SignIn } from './pages/SignIn.tsx';
import './index.css';

/** 4xx answers will not change on a retry; network blips and 5xx may. */
const retry = (count: number, e: unknown) => !(e instanceof HearthError && e.status < 500) && count < 2;

function App() {
  const { session } = useSessionState();
  if (!session) return <SignIn />;
  return (
    <ProjectProvider>
      {(project) => <SignedIn key={`${session.key}\n${project ?? ''}`} signOut={session.signOut} />}
    </ProjectProvider>
  );
}

/**
 * One query cache per sign-in and project, so signing out and in as someone else, or switching
 * projects, never shows stale data: every list, and the event stream, start afresh.
 */
function SignedIn({ signOut }: { signOut(): void }) {
  const [qc] = useState(
    () =>
      new QueryClient({
        // A revoked token ends the session instead of failing every page.
        queryCache: new QueryCache({
          onError: (e) =>
            e instanceof HearthError &&
            (e.code === 'UNAUTHENTICATED' || e.code === 'SESSION_EXPIRED') &&
            signOut(),
        }),
        defaultOptions: { queries: { staleTime: 10_000, retry } },
      }),
  );
  return (
    <QueryClientProvider client={qc}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider>
      <App />
    </SessionProvider>
  </StrictMode>,
);
