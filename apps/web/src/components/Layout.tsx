import { NavLink, Outlet } from 'react-router';
import type { UserRouteId } from '@hearth/contract';
import { useAccess } from '../api/access.ts';
import { useEventStream } from '../api/event-stream.ts';
import { useTheme } from './theme.ts';
import { Button } from './ui.tsx';
import { UserMenu } from './UserMenu.tsx';

const NAV = [
  ['/', 'Dashboard'],
  ['/vms', 'VMs'],
  ['/containers', 'Containers'],
  ['/functions', 'Functions'],
  ['/images', 'Images'],
  ['/hosts', 'Hosts'],
  ['/snapshots', 'Snapshots'],
  ['/volumes', 'Volumes'],
  ['/networks', 'Networks'],
  ['/templates', 'Templates'],
  ['/pools', 'Pools'],
  ['/projects', 'Projects'],
  ['/tokens', 'API tokens'],
] as const;

/** Pages shown only to callers whose role allows the route behind them. */
const GATED: [string, string, UserRouteId][] = [
  ['/users', 'Users', 'listUsers'],
  ['/audit', 'Audit', 'listAudit'],
];

const STATUS = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…' } as const;

/** The signed-in shell: navigation, the one event stream, theme and the user menu. */
export function Layout() {
  const { me, deny } = useAccess();
  // Hidden until GET /v1/me says the caller may use them.
  const nav = [...NAV, ...GATED.filter(([, , route]) => me && deny(route) === null)];
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
          {nav.map(([to, label]) => (
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
        <UserMenu />
        <div className="flex gap-2 px-4 pb-3 lg:flex-col">
          <Button variant="ghost" onClick={toggleTheme}>
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </Button>
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-7xl p-4 lg:p-6">
        <Outlet />
      </main>
    </div>
  );
}
