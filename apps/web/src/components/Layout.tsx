import { NavLink, Outlet } from 'react-router';
import { useEventStream } from '../api/event-stream.ts';
import { useSession } from '../api/session.tsx';
import { useTheme } from './theme.ts';
import { Button } from './ui.tsx';

const NAV = [
  ['/', 'Dashboard'],
  ['/vms', 'VMs'],
  ['/images', 'Images'],
  ['/hosts', 'Hosts'],
  ['/snapshots', 'Snapshots'],
  ['/volumes', 'Volumes'],
  ['/networks', 'Networks'],
  ['/templates', 'Templates'],
] as const;

const STATUS = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' } as const;

/** The signed-in shell: navigation, the one event stream, theme and sign-out. */
export function Layout() {
  const { signOut } = useSession();
  const status = useEventStream();
  const [theme, toggleTheme] = useTheme();
  return (
    <div className="min-h-screen lg:grid lg:grid-cols-[13rem_1fr]">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white lg:min-h-screen lg:border-r lg:border-b-0 dark:border-slate-800 dark:bg-slate-900">
        <div className="flex items-center justify-between px-4 py-3">
          <span className="text-lg font-bold">Hearth</span>
          <span
            className={`text-xs ${status === 'live' ? 'text-green-700 dark:text-green-300' : 'text-amber-700 dark:text-amber-300'}`}
            role="status"
            data-testid="stream-status"
          >
            ● {STATUS[status]}
          </span>
        </div>
        <nav aria-label="Main" className="flex gap-1 overflow-x-auto px-2 pb-2 lg:flex-col">
          {NAV.map(([to, label]) => (
            <NavLink
              key={to}
              to={to}
              end={to === '/'}
              className={({ isActive }) =>
                `rounded-md px-3 py-1.5 text-sm whitespace-nowrap ${isActive ? 'bg-blue-700 text-white' : 'hover:bg-slate-100 dark:hover:bg-slate-800'}`
              }
            >
              {label}
            </NavLink>
          ))}
        </nav>
        <div className="flex gap-2 px-4 py-3 lg:flex-col">
          <Button variant="ghost" onClick={toggleTheme}>
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </Button>
          <Button variant="ghost" onClick={signOut}>
            Sign out
          </Button>
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-7xl p-4 lg:p-6">
        <Outlet />
      </main>
    </div>
  );
}
