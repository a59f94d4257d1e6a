import { describe, expect, it } from 'vitest';
import { CreateVmBody } from '@hearth/contract';
import { apiFields, dropErrors, fieldKey, issuesToFields, mergeErrors } from './fields.ts';

describe('field errors', () => {
  it('keys paths by input: whole values, list rows and egress lists', () => {
    expect(fieldKey(['env', 'FOO'])).toEqual({ key: 'env', rest: ['FOO'] });
    expect(fieldKey(['sshKeys', 1])).toEqual({ key: 'sshKeys', rest: [1] });
    expect(fieldKey(['ports', 0, 'host'])).toEqual({ key: 'ports.0', rest: ['host'] });
    expect(fieldKey(['networks', '2', 'ip'])).toEqual({ key: 'networks.2', rest: ['ip'] });
    expect(fieldKey(['egress', 'allow', 3])).toEqual({ key: 'egress.allow', rest: [3] });
    expect(fieldKey(['ports'])).toEqual({ key: 'ports', rest: [] });
    expect(fieldKey([])).toEqual({ key: '(body)', rest: [] });
  });

  it("turns the contract's issues and the API's fields into the same keys", () => {
    const r = CreateVmBody.safeParse({
      ports: [{ host: 0, guest: 80 }],
      networks: ['default', { network: 'iso', ip: '10.0.0' }],
    });
    expect(issuesToFields(r.error!.issues)).toEqual({
      'ports.0': ['host: Too small: expected number to be >=1'],
      'networks.1': ['ip: an IPv4 address such as 10.0.0.1'],
    });
    expect(apiFields({ 'egress.deny.0': ['bad'], ports: ['8080/tcp is taken'] })).toEqual({
      'egress.deny': ['0: bad'],
      ports: ['8080/tcp is taken'],
    });
  });

  it('merges without overwriting and drops an input with its rows', () => {
    expect(mergeErrors({ a: ['first'] }, { a: ['second'], b: ['b'], c: [] })).toEqual({
      a: ['first'],
      b: ['b'],
    });
    expect(dropErrors({ ports: ['x'], 'ports.1': ['y'], portsy: ['z'], name: ['n'] }, 'ports')).toEqual({
      portsy: ['z'],
      name: ['n'],
    });
  });
});
