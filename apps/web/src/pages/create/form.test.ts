import { describe, expect, it } from 'vitest';
import { HearthError, type Network } from '@hearth/contract';
import { alertsFor, apiErrors, emptyForm, firstStepWithError, stepErrors, toBody, validate } from './form.ts';

const iso = {
  id: 'net_iso',
  name: 'iso',
  mode: 'isolated',
  cidr: '10.60.0.0/24',
  gateway: null,
} as Network;
const lan = { id: 'net_lan', name: 'lan', mode: 'bridged', cidr: null, gateway: null } as Network;

describe('create wizard form', () => {
  it('leaves empty inputs out so the API defaults apply, and parses env and keys', () => {
    expect(toBody({ ...emptyForm, diskSize: '', project: '' })).toEqual({ vcpus: 1, memoryMib: 128 });
    const body = toBody({
      ...emptyForm,
      name: ' web-1 ',
      env: 'A=1\n\nB=x=y',
      sshKeys: 'ssh-ed25519 AAAA me@host\n',
    });
    expect(body).toMatchObject({
      name: 'web-1',
      env: { A: '1', B: 'x=y' },
      sshKeys: ['ssh-ed25519 AAAA me@host'],
    });
  });

  it('maps each boot source to the API: image, runtime-<name>, an imported OCI image, a snapshot', () => {
    const f = { ...emptyForm, name: 'b', image: 'img_1', kernel: 'k_1', vcpus: '2' };
    expect(toBody(f)).toMatchObject({ image: 'img_1', kernel: 'k_1', vcpus: 2 });
    expect(toBody({ ...f, source: 'runtime', runtime: 'python3.13' })).toMatchObject({
      image: 'runtime-python3.13',
      kernel: 'k_1',
    });
    // `base` is the base image itself, not a built runtime.
    expect(toBody({ ...f, source: 'runtime', runtime: 'base' })).toMatchObject({ image: 'base' });
    // An OCI reference is imported first; the body then names the imported image.
    expect(toBody({ ...f, source: 'oci', ociRef: 'alpine:3' })).not.toHaveProperty('image');
    expect(toBody({ ...f, source: 'oci', ociRef: 'alpine:3' }, 'img_oci')).toMatchObject({
      image: 'img_oci',
    });
    // A clone takes resources, disk, kernel and credentials from the snapshot: none are sent.
    expect(toBody({ ...f, source: 'snapshot', snapshot: 'snap_1', user: 'me' })).toEqual({
      name: 'b',
      project: 'default',
      snapshot: 'snap_1',
    });
    expect(validate({ ...emptyForm, source: 'oci' })).toHaveProperty('ociRef');
    expect(validate({ ...emptyForm, source: 'snapshot' })).toHaveProperty('snapshot');
    // From a warm pool: image, resources and network are the pool's; name, env and credentials go along.
    const pooled = { ...f, source: 'pool' as const, pool: 'web', user: 'me', env: 'A=1', timeout: '30m' };
    expect(toBody(pooled)).toEqual({
      name: 'b',
      project: 'default',
      pool: 'web',
      user: 'me',
      env: { A: '1' },
      timeout: '30m',
    });
    expect(validate({ ...pooled, bandwidthMbit: 'x' })).toEqual({});
    expect(stepErrors(validate({ ...emptyForm, source: 'pool' }), 2)).toEqual({ pool: ['choose a pool'] });
    expect(apiErrors(new HearthError('POOL_NOT_FOUND', 'no pool web')).fields).toEqual({
      pool: ['no pool web'],
    });
    expect(stepErrors(validate({ ...emptyForm, source: 'snapshot' }), 2)).toHaveProperty('snapshot');
  });

  it("validates with the contract's rules and keys messages by field", () => {
    expect(validate(emptyForm)).toEqual({});
    const errors = validate({ ...emptyForm, name: 'Bad_Name', vcpus: '0', memoryMib: '12', env: 'NOEQUALS' });
    expect(Object.keys(errors).sort()).toEqual(['env', 'memoryMib', 'name', 'vcpus']);
    expect(errors.name![0]).toMatch(/lowercase/);
    expect(validate({ ...emptyForm, sshKeys: 'not a key' }).sshKeys![0]).toMatch(/^0: .*OpenSSH/);
    expect(validate({ ...emptyForm, timeout: '5 minutes' }).timeout![0]).toMatch(/30m/);
  });

  it('finds the first step with an error and the errors of one step', () => {
    const errors = { memoryMib: ['too small'], password: ['empty'] };
    expect(firstStepWithError(errors)).toBe(1);
    expect(stepErrors(errors, 4)).toEqual({ password: ['empty'] });
    expect(firstStepWithError({})).toBeNull();
    expect(firstStepWithError({ '(body)': ['odd'] })).toBe(4);
  });

  it("puts the API's errors next to their field: `fields`, or the code's field", () => {
    const validation = new HearthError('VALIDATION_FAILED', 'Validating failed', {
      fields: { name: ['must be lowercase'], 'sshKeys.1': ['an OpenSSH public key line'] },
    });
    expect(apiErrors(validation)).toEqual({
      fields: { name: ['must be lowercase'], sshKeys: ['1: an OpenSSH public key line'] },
      general: null,
    });
    const taken = new HearthError('VM_NAME_TAKEN', 'A VM named "a" exists.');
    expect(apiErrors(taken)).toEqual({ fields: { name: ['A VM named "a" exists.'] }, general: null });
    const other = new HearthError('NO_HOST_AVAILABLE', 'No host has room.');
    expect(apiErrors(other)).toEqual({ fields: {}, general: 'No host has room.' });
  });

  it('sends NICs in order with fixed addresses, ports, egress, bandwidth and start only when set', () => {
    // One NIC on the default network, no ports, allow all, no limit, start: the API's defaults.
    for (const k of ['networks', 'ports', 'egress', 'bandwidthMbit', 'start'])
      expect(toBody(emptyForm)).not.toHaveProperty(k);
    const f = {
      ...emptyForm,
      nics: [
        { network: 'default', ip: '' },
        { network: 'iso', ip: ' 10.60.0.9 ' },
      ],
      ports: [{ host: '8080', guest: '80', protocol: 'tcp' as const }],
      egressDefault: 'deny' as const,
      egressAllow: '10.0.0.0/8',
      bandwidthMbit: '20',
      start: false,
    };
    expect(toBody(f)).toMatchObject({
      networks: ['default', { network: 'iso', ip: '10.60.0.9' }],
      ports: [{ host: 8080, guest: 80, protocol: 'tcp' }],
      egress: { default: 'deny', allow: ['10.0.0.0/8'], deny: [] },
      bandwidthMbit: 20,
      start: false,
    });
    expect(validate(f, [iso, lan])).toEqual({});
    expect(toBody({ ...f, nics: [{ network: 'lan', ip: '' }] })).toMatchObject({ networks: ['lan'] });
    // A clone takes its networks from the snapshot: none of these are sent, nor checked.
    const clone = { ...f, source: 'snapshot' as const, snapshot: 's', bandwidthMbit: 'x' };
    expect(toBody(clone)).toEqual({ name: undefined, project: 'default', snapshot: 's' });
    expect(validate(clone)).toEqual({});
  });

  it('checks network inputs on the Network step, keyed by NIC and port row', () => {
    const errors = validate(
      {
        ...emptyForm,
        nics: [
          { network: 'iso', ip: '10.61.0.1' },
          { network: 'lan', ip: '192.168.0.9' },
        ],
        ports: [
          { host: '80', guest: '80', protocol: 'tcp' },
          { host: '80', guest: '81', protocol: 'tcp' },
          { host: '', guest: '22', protocol: 'tcp' },
        ],
        egressAllow: '300.0.0.0/8',
        bandwidthMbit: '0',
      },
      [iso, lan],
    );
    expect(errors).toEqual({
      'networks.0': ["not inside iso's subnet 10.60.0.0/24"],
      'networks.1': ['network lan has no subnet: the guest gets its address by DHCP'],
      'ports.2': ['host port: a whole number from 1 to 65535'],
      ports: ['80/tcp is published twice: each host port and protocol at most once'],
      'egress.allow': ['"300.0.0.0/8" is not an IPv4 address or CIDR such as 10.0.0.0/8'],
      bandwidthMbit: ['a whole number of Mbit/s from 1 to 100000'],
    });
    expect(firstStepWithError(errors)).toBe(3);
    expect(Object.keys(stepErrors(errors, 3))).toHaveLength(6);
    expect(stepErrors(errors, 0)).toEqual({});
  });

  it("puts the API's network refusals on the Network step, next to the NIC, with the alert", () => {
    const nics = [
      { network: 'default', ip: '' },
      { network: 'iso', ip: '10.60.0.9' },
    ];
    const taken = new HearthError('NETWORK_IP_UNAVAILABLE', 'Creating the VM failed: 10.60.0.9 is in use.', {
      fields: { networks: ['10.60.0.9 is taken'] },
    });
    const { fields } = apiErrors(taken, nics);
    expect(fields).toEqual({ 'networks.1': ['10.60.0.9 is taken'] });
    expect(firstStepWithError(fields)).toBe(3);
    expect(alertsFor(taken)).toBe(true);
    const port = new HearthError('PORT_TAKEN', 'host port 8080/tcp is published by VM "a".', {
      fields: { ports: ['8080/tcp is taken'] },
    });
    expect(apiErrors(port).fields).toEqual({ ports: ['8080/tcp is taken'] });
    const feature = new HearthError('NETWORK_FEATURE_MISSING', 'no host can carry its networks');
    expect(apiErrors(feature)).toEqual({
      fields: { networks: ['no host can carry its networks'] },
      general: null,
    });
    // Plain validation failures are said next to their inputs only.
    expect(alertsFor(new HearthError('VALIDATION_FAILED', 'x', { fields: { name: ['bad'] } }))).toBe(false);
    expect(alertsFor(new Error('offline'))).toBe(true);
    expect(alertsFor(null)).toBe(false);
  });
});
