import { describe, expect, it } from 'vitest';
import { UsageError } from './usage-error.ts';
import {
  commaList,
  parseBandwidth,
  parseDisk,
  parsePublishPorts,
  parseTimeout,
  vmsanEgress,
} from './vmsan-flags.ts';

const usage = (fn: () => unknown, text: RegExp) => {
  expect(fn).toThrow(UsageError);
  expect(fn).toThrow(text);
};

describe("vmsan's create flags", () => {
  it('reads comma lists given once or repeated', () => {
    expect(commaList('a.com, *.b.com')).toEqual(['a.com', '*.b.com']);
    expect(commaList('c.com', commaList('a.com,b.com'))).toEqual(['a.com', 'b.com', 'c.com']);
    expect(commaList('a.com,,')).toEqual(['a.com']);
  });

  it('--publish-port N publishes guest port N on host port N', () => {
    expect(parsePublishPorts(['8080', '3000'])).toEqual([
      { host: 8080, guest: 8080, protocol: 'tcp' },
      { host: 3000, guest: 3000, protocol: 'tcp' },
    ]);
    usage(() => parsePublishPorts(['0']), /--publish-port 0 is not a port/);
    usage(() => parsePublishPorts(['70000']), /not a port/);
    usage(() => parsePublishPorts(['80:80']), /not a port/);
  });

  it('--network-policy: allow-all by default, promoted to custom by a list', () => {
    expect(vmsanEgress({})).toBeUndefined();
    expect(vmsanEgress({ networkPolicy: 'allow-all' })).toEqual({ default: 'allow', allow: [], deny: [] });
    expect(vmsanEgress({ networkPolicy: 'deny-all' })).toEqual({ default: 'deny', allow: [], deny: [] });
    // Allowed names or CIDRs: everything else is denied.
    expect(
      vmsanEgress({ allowedDomain: ['A.com', '*.b.com', 'a.com'], allowedCidr: ['10.0.0.0/8'] }),
    ).toEqual({
      default: 'deny',
      allow: ['10.0.0.0/8'],
      deny: [],
      domains: ['a.com', '*.b.com'],
    });
    // Denied CIDRs alone keep the rest open.
    expect(vmsanEgress({ deniedCidr: ['192.0.2.0/24'] })).toEqual({
      default: 'allow',
      allow: [],
      deny: ['192.0.2.0/24'],
    });
    expect(vmsanEgress({ networkPolicy: 'custom', deniedCidr: ['192.0.2.0/24'] })?.default).toBe('allow');
    // Custom with nothing listed allows nothing.
    expect(vmsanEgress({ networkPolicy: 'custom' })).toEqual({ default: 'deny', allow: [], deny: [] });
  });

  it('refuses deny-all with a list, unknown policies, bad names and bad CIDRs', () => {
    usage(
      () => vmsanEgress({ networkPolicy: 'deny-all', allowedDomain: ['a.com'] }),
      /deny-all takes no --allowed-domain, --allowed-cidr or --denied-cidr/,
    );
    usage(() => vmsanEgress({ networkPolicy: 'deny-all', deniedCidr: ['10.0.0.0/8'] }), /deny-all takes no/);
    usage(() => vmsanEgress({ networkPolicy: 'open' }), /must be one of allow-all, deny-all, custom/);
    usage(
      () => vmsanEgress({ allowedDomain: ['a.*.com'] }),
      /--allowed-domain a\.\*\.com is not a domain name/,
    );
    usage(() => vmsanEgress({ allowedDomain: ['-a.com'] }), /is not a domain name/);
    usage(
      () => vmsanEgress({ allowedCidr: ['10.0.0.0/33'] }),
      /--allowed-cidr 10\.0\.0\.0\/33 is not an IPv4 CIDR/,
    );
    usage(() => vmsanEgress({ deniedCidr: ['example.com'] }), /--denied-cidr example\.com/);
  });

  it('--bandwidth in kbit, mbit or gbit, whole Mbit/s', () => {
    expect(parseBandwidth('50mbit')).toBe(50);
    expect(parseBandwidth('50')).toBe(50);
    expect(parseBandwidth('50M')).toBe(50);
    expect(parseBandwidth('1gbit')).toBe(1000);
    expect(parseBandwidth('2000kbit')).toBe(2);
    usage(() => parseBandwidth('500kbit'), /whole number of Mbit\/s of at least 1/);
    usage(() => parseBandwidth('fast'), /--bandwidth fast/);
    usage(() => parseBandwidth('0mbit'), /at least 1/);
  });

  it('--disk: sizes as Hearth reads them, a bare number in GB', () => {
    expect(parseDisk('10gb')).toBe('10gb');
    expect(parseDisk('512MiB')).toBe('512MiB');
    expect(parseDisk('10')).toBe('10gb');
    usage(() => parseDisk('ten'), /--disk ten is not a size/);
  });

  it('--timeout: compound durations in one unit', () => {
    expect(parseTimeout('2h30m')).toBe('150m');
    expect(parseTimeout('1h')).toBe('1h');
    expect(parseTimeout('90s')).toBe('90s');
    expect(parseTimeout('1m30s')).toBe('90s');
    expect(parseTimeout('1d12h')).toBe('36h');
    usage(() => parseTimeout('2h 30m'), /--timeout 2h 30m is not a duration/);
    usage(() => parseTimeout('soon'), /not a duration/);
    usage(() => parseTimeout('0s'), /longer than zero/);
  });
});
