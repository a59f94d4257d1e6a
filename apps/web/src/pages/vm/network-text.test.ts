import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { bandwidthText, egressText, nicsText, portsText } from './network-text.ts';

describe('VM network summaries', () => {
  it('says the egress policy in the order it is applied', () => {
    expect(egressText({ default: 'allow', allow: [], deny: [] })).toBe('allow all');
    expect(egressText({ default: 'deny', allow: [], deny: [] })).toBe('deny all');
    expect(egressText({ default: 'deny', allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16', '1.2.3.4'] })).toBe(
      'deny 10.9.0.0/16, 1.2.3.4; allow 10.0.0.0/8; deny the rest',
    );
    expect(egressText({ default: 'deny', allow: [], deny: [], domains: ['a.com', '*.b.com'] })).toBe(
      'allow names a.com, *.b.com (as they resolve); deny the rest',
    );
    expect(egressText({ default: 'allow', allow: [], deny: ['192.168.0.0/16'] })).toBe(
      'deny 192.168.0.0/16; allow the rest',
    );
  });

  it('says the bandwidth limit, NICs and ports', () => {
    expect(bandwidthText(null)).toBe('no limit');
    expect(bandwidthText(50)).toBe('50 Mbit/s per NIC, each direction');
    const vm = {
      networks: [
        { network: 'net_1', networkName: 'default', mac: '02:48:0a:00:00:02', ip: '10.0.0.2' },
        { network: 'net_2', networkName: 'lan', mac: '02:49:00:00:00:01', ip: null },
      ],
      ports: [{ host: 8080, guest: 80, protocol: 'tcp' }],
    } as unknown as Vm;
    expect(nicsText(vm)).toBe('default (10.0.0.2), lan (DHCP, not yet known)');
    expect(portsText(vm)).toBe('8080 → 80/tcp');
    expect(nicsText({ ...vm, networks: [] })).toBe('none');
    expect(portsText({ ...vm, ports: [] })).toBe('none');
  });
});
