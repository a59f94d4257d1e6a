import { describe, expect, it, vi } from 'vitest';

// The remembered project is read once, when the module loads.
vi.stubGlobal('localStorage', {
  getItem: (k: string) => (k === 'hearth.project' ? 'team-b' : null),
  setItem() {},
});
const { withProject, currentProject } = await import('./project.tsx');

/** A fetch that answers with the headers it was given. */
const echo = vi.fn((_: RequestInfo | URL, init?: RequestInit) =>
  Promise.resolve(new Response(JSON.stringify(init?.headers))),
);
const sent = async (init: RequestInit) =>
  (await (await withProject(echo as typeof fetch)('http://x/v1/vms', init)).json()) as Record<string, string>;

describe('the project header on SDK calls', () => {
  it('adds the remembered project to every call, as a plain object beside the other headers', async () => {
    expect(currentProject()).toBe('team-b');
    expect(await sent({ method: 'GET', headers: { authorization: 'Bearer t' } })).toEqual({
      authorization: 'Bearer t',
      'x-hearth-project': 'team-b',
    });
    expect(await sent({})).toEqual({ 'x-hearth-project': 'team-b' });
  });

  it('leaves a project the call names itself (a token scoped to another project)', async () => {
    expect(await sent({ headers: { 'X-Hearth-Project': 'team-c' } })).toEqual({
      'X-Hearth-Project': 'team-c',
    });
  });
});
