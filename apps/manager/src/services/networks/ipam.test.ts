import { describe, expect, it } from 'vitest';
import { macForIp, nextFreeIp, parseCidr } from './ipam.ts';

describe('ipam', () => {
  it('skips network, gateway and used addresses', () => {
    const s = parseCidr('10.213.0.0/24');
    expect(s.gateway).toBe('10.213.0.1');
    expect(nextFreeIp(s, new Set())).toBe('10.213.0.2');
    expect(nextFreeIp(s, new Set(['10.213.0.2', '10.213.0.3']))).toBe('10.213.0.4');
  });

  it('reports exhaustion instead of handing out the broadcast address', () => {
    const s = parseCidr('10.0.0.0/30');
    expect(nextFreeIp(s, new Set(['10.0.0.2']))).toBeNull();
  });

  it('derives distinct locally administered MACs', () => {
    expect(macForIp('10.213.0.2')).toBe('02:48:0a:d5:00:02');
    expect(macForIp('10.213.0.3')).not.toBe(macForIp('10.213.0.2'));
  });
});
