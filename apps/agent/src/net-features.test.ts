import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { probeNetFeatures } from './net-features.ts';

describe('host network features (probed in a throwaway namespace)', () => {
  it('reports each feature with a reason, and leaves no namespace behind', async () => {
    const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const features = await probeNetFeatures();
    expect(features.map((f) => f.name)).toEqual([
      'net-bridge',
      'net-vxlan',
      'net-8021q',
      'net-bridge-vlan-filtering',
      'net-tc',
      'net-nat',
    ]);
    for (const f of features) expect(f.detail.length).toBeGreaterThan(5);
    // What every Hearth host needs works here; what it lacks says why.
    expect(features.filter((f) => ['net-bridge', 'net-nat'].includes(f.name)).every((f) => f.ok)).toBe(true);
    for (const f of features.filter((x) => !x.ok))
      expect(f.detail).toMatch(/^not supported by this kernel \(/);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toBe(before);
  });
});
