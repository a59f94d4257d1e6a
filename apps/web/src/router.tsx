import { lazy, Suspense, type ReactNode } from 'react';
import { createBrowserRouter, Link } from 'react-router';
import { Layout } from './components/Layout.tsx';
import { Loading, PageHeader } from './components/ui.tsx';
import { Dashboard } from './pages/Dashboard.tsx';
import { VmList } from './pages/VmList.tsx';
import { Hosts } from './pages/Hosts.tsx';

// The wizard and VM detail (with xterm.js and charts) load on first use, keeping the first page light.
const CreateVm = lazy(() => import('./pages/create/CreateVm.tsx'));
const VmDetail = lazy(() => import('./pages/vm/VmDetail.tsx'));
// So do the resource pages with forms (upload, import, attach, templates, networks).
const Images = lazy(() => import('./pages/Images.tsx'));
const Snapshots = lazy(() => import('./pages/Snapshots.tsx'));
const Volumes = lazy(() => import('./pages/Volumes.tsx'));
const Templates = lazy(() => import('./pages/Templates.tsx'));
const Pools = lazy(() => import('./pages/Pools.tsx'));
// Containers: the list, the run form and a container's page (logs, stats, exec, events).
const ContainerList = lazy(() => import('./pages/containers/ContainerList.tsx'));
const CreateContainer = lazy(() => import('./pages/containers/CreateContainer.tsx'));
const ContainerDetail = lazy(() => import('./pages/containers/ContainerDetail.tsx'));
// Functions: the list, the create page and a function's page (editor, test invoke, versions, logs).
const FunctionList = lazy(() => import('./pages/functions/FunctionList.tsx'));
const CreateFunction = lazy(() => import('./pages/functions/CreateFunction.tsx'));
const FunctionDetail = lazy(() => import('./pages/functions/FunctionDetail.tsx'));
const Networks = lazy(() => import('./pages/Networks.tsx'));
const NetworkDetail = lazy(() => import('./pages/networks/NetworkDetail.tsx'));
// Identity: users, projects (members, quotas), API tokens and the audit trail.
const Users = lazy(() => import('./pages/identity/Users.tsx'));
const Projects = lazy(() => import('./pages/identity/Projects.tsx'));
const ProjectDetail = lazy(() => import('./pages/identity/ProjectDetail.tsx'));
const Tokens = lazy(() => import('./pages/identity/Tokens.tsx'));
const Audit = lazy(() => import('./pages/identity/Audit.tsx'));

const later = (node: ReactNode) => <Suspense fallback={<Loading what="page" />}>{node}</Suspense>;

export const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: '/', element: <Dashboard /> },
      { path: '/vms', element: <VmList /> },
      { path: '/vms/new', element: later(<CreateVm />) },
      { path: '/vms/:id/:tab?', element: later(<VmDetail />) },
      { path: '/containers', element: later(<ContainerList />) },
      { path: '/containers/new', element: later(<CreateContainer />) },
      { path: '/containers/:id/:tab?', element: later(<ContainerDetail />) },
      { path: '/functions', element: later(<FunctionList />) },
      { path: '/functions/new', element: later(<CreateFunction />) },
      { path: '/functions/:name/:tab?', element: later(<FunctionDetail />) },
      { path: '/images', element: later(<Images />) },
      { path: '/hosts', element: <Hosts /> },
      { path: '/snapshots', element: later(<Snapshots />) },
      { path: '/volumes', element: later(<Volumes />) },
      { path: '/networks', element: later(<Networks />) },
      { path: '/networks/:id', element: later(<NetworkDetail />) },
      { path: '/templates', element: later(<Templates />) },
      { path: '/pools', element: later(<Pools />) },
      { path: '/users', element: later(<Users />) },
      { path: '/projects', element: later(<Projects />) },
      { path: '/projects/:name', element: later(<ProjectDetail />) },
      { path: '/tokens', element: later(<Tokens />) },
      { path: '/audit', element: later(<Audit />) },
      {
        path: '*',
        element: (
          <>
            <PageHeader title="Page not found" />
            <Link className="text-blue-700 underline dark:text-blue-300" to="/">
              Back to the dashboard
            </Link>
          </>
        ),
      },
    ],
  },
]);
