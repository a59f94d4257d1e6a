import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

/** The header every SDK call carries to say which project it acts in. */
export const PROJECT_HEADER = 'x-hearth-project';
const PROJECT_KEY = 'hearth.project';

// Per tab: another tab switching projects changes the remembered choice (localStorage) for the
// next visit, never the project this tab's requests act in.
let current: string | null = globalThis.localStorage?.getItem(PROJECT_KEY) ?? null;

/** The project this tab acts in, or null for the caller's default project (no header is sent). */
export const currentProject = (): string | null => current;

function remember(project: string): void {
  current = project;
  localStorage.setItem(PROJECT_KEY, project);
}

/**
 * A `fetch` for the SDK (its `fetch` option) that adds the chosen project as the
 * `X-Hearth-Project` header, unless the call names one itself (a token scoped to a project).
 * Headers stay a plain object: the upload's XMLHttpRequest fetch reads them that way.
 */
export function withProject(inner?: typeof fetch): typeof fetch {
  return (input, init = {}) => {
    const headers = { ...(init.headers as Record<string, string> | undefined) };
    const named = Object.keys(headers).some((k) => k.toLowerCase() === PROJECT_HEADER);
    if (current && !named) headers[PROJECT_HEADER] = current;
    return (inner ?? fetch)(input, { ...init, headers });
  };
}

interface ProjectState {
  /** The chosen project, null until one is chosen (the caller's default project applies). */
  project: string | null;
  /** Switches every request, the lists and the event stream to another project. */
  choose(project: string): void;
}

const Ctx = createContext<ProjectState | null>(null);

/**
 * Holds the chosen project. The signed-in app below is keyed by it, so a switch starts a fresh
 * query cache and event stream in the new project: nothing of the old one is shown any more.
 */
export function ProjectProvider({ children }: { children: (project: string | null) => ReactNode }) {
  const [project, setProject] = useState(currentProject);
  const choose = useCallback((p: string) => {
    remember(p);
    setProject(p);
  }, []);
  const value = useMemo(() => ({ project, choose }), [project, choose]);
  return <Ctx.Provider value={value}>{children(project)}</Ctx.Provider>;
}

export function useProject(): ProjectState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useProject needs a ProjectProvider');
  return s;
}
