import { describe, expect, it } from 'vitest';
import type { VmContext } from './context.ts';
import { constraintsOf } from './placement.ts';

// A VM placed again (migrated, restarted after its host died) keeps its constraints, and never
// counts against a host itself.
describe('constraintsOf', () => {
  const ctx = (members: Record<string, string[]>) =>
    ({
      stores: {
        hostPlacement: {
          groupHosts: async () => new Map(Object.entries(members).map(([h, n]) => [h, [...n]])),
        },
      },
    }) as unknown as VmContext;
  const row = {
    id: 'vm_1',
    name: 'web-1',
    project: 'default',
    host_id: 'host_a',
    host_selector: { zone: 'eu' },
    anti_affinity_group: 'web',
  };

  it('keeps the host selector and the group, less the VM itself', async () => {
    const c = await constraintsOf(ctx({ host_a: ['web-1'], host_b: ['web-2'] }), row);
    expect(c.hostSelector).toEqual({ zone: 'eu' });
    expect(c.antiAffinity?.group).toBe('web');
    expect([...c.antiAffinity!.members.entries()]).toEqual([['host_b', ['web-2']]]);
  });

  it('still counts another member on the VM’s own host', async () => {
    const c = await constraintsOf(ctx({ host_a: ['web-1', 'web-3'] }), row);
    expect([...c.antiAffinity!.members.entries()]).toEqual([['host_a', ['web-3']]]);
  });

  it('has no group when the VM has none', async () => {
    const c = await constraintsOf(ctx({}), { ...row, anti_affinity_group: null, host_selector: {} });
    expect(c).toEqual({ hostSelector: {} });
  });
});
