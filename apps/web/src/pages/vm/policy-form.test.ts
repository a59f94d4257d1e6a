import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { applyNote, policyOf, savedNote, toPolicyPatch, validatePolicy } from './policy-form.ts';

const vm: Pick<Vm, 'ports' | 'egress' | 'bandwidthMbit'> = {
  ports: [{ host: 8080, guest: 80, protocol: 'tcp' }],
  egress: { default: 'deny', allow: ['10.0.0.0/8', '1.2.3.4'], deny: [], domains: ['a.com'] },
  bandwidthMbit: 20,
};

describe('VM traffic policy edit', () => {
  it("starts from the VM's values and sends nothing while they are unchanged", () => {
    const form = policyOf(vm);
    expect(form).toEqual({
      ports: [{ host: '8080', guest: '80', protocol: 'tcp' }],
      egressDefault: 'deny',
      egressAllow: '10.0.0.0/8\n1.2.3.4',
      egressDeny: '',
      egressDomains: 'a.com',
      bandwidthMbit: '20',
    });
    expect(toPolicyPatch(form, vm)).toEqual({});
    // The same lists written differently are still unchanged.
    expect(toPolicyPatch({ ...form, egressAllow: '10.0.0.0/8, 1.2.3.4' }, vm)).toEqual({});
    expect(validatePolicy(form)).toEqual({});
  });

  it('sends only what changed; an empty bandwidth removes the limit, open egress is sent in full', () => {
    const form = policyOf(vm);
    expect(toPolicyPatch({ ...form, bandwidthMbit: '50' }, vm)).toEqual({ bandwidthMbit: 50 });
    expect(toPolicyPatch({ ...form, bandwidthMbit: ' ' }, vm)).toEqual({ bandwidthMbit: null });
    expect(
      toPolicyPatch({ ...form, egressDefault: 'allow', egressAllow: '', egressDomains: '' }, vm),
    ).toEqual({
      egress: { default: 'allow', allow: [], deny: [] },
    });
    // Editing the address lists keeps the domain list; editing the domains sends them.
    expect(toPolicyPatch({ ...form, egressAllow: '10.0.0.0/8' }, vm)).toEqual({
      egress: { default: 'deny', allow: ['10.0.0.0/8'], deny: [], domains: ['a.com'] },
    });
    expect(toPolicyPatch({ ...form, egressDomains: 'a.com\n*.B.com' }, vm)).toEqual({
      egress: { default: 'deny', allow: ['10.0.0.0/8', '1.2.3.4'], deny: [], domains: ['a.com', '*.b.com'] },
    });
    expect(toPolicyPatch({ ...form, egressDomains: ' ' }, vm)).toEqual({
      egress: { default: 'deny', allow: ['10.0.0.0/8', '1.2.3.4'], deny: [] },
    });
    expect(toPolicyPatch({ ...form, ports: [] }, vm)).toEqual({ ports: [] });
    expect(
      toPolicyPatch({ ...form, ports: [...form.ports, { host: '5353', guest: '53', protocol: 'udp' }] }, vm),
    ).toEqual({
      ports: [
        { host: 8080, guest: 80, protocol: 'tcp' },
        { host: 5353, guest: 53, protocol: 'udp' },
      ],
    });
  });

  it('checks with plain words first, then the contract', () => {
    const errors = validatePolicy({
      ...policyOf(vm),
      ports: [{ host: '70000', guest: '80', protocol: 'tcp' }],
      egressDeny: '1.2.3.4/40',
      bandwidthMbit: '100001',
    });
    expect(errors).toEqual({
      'ports.0': ['host port: a whole number from 1 to 65535'],
      'egress.deny': ['"1.2.3.4/40" is not an IPv4 address or CIDR such as 10.0.0.0/8'],
      bandwidthMbit: ['a whole number of Mbit/s from 1 to 100000'],
    });
  });

  it('says when a change takes effect', () => {
    expect(applyNote('running')).toMatch(/applies the change on its host at once/);
    expect(applyNote('stopped')).toMatch(/applied when it next starts/);
    expect(applyNote('starting')).toMatch(/as soon as it runs/);
    expect(savedNote('running')).toBe('Saved and applied on the running VM.');
    expect(savedNote('created')).toBe('Saved; applied when the VM next starts.');
  });
});
