import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import {
  emptyTokenForm,
  emptyUserForm,
  errorFields,
  quotaInputs,
  quotaPatch,
  quotaRows,
  tokenBody,
  userBody,
} from './forms.ts';

const usage = {
  vms: 3,
  vcpus: 6,
  memoryMib: 768,
  diskMib: 0,
  snapshots: 0,
  volumes: 1,
  networks: 0,
  publishedPorts: 0,
};

describe('identity forms', () => {
  it('checks a new user with the contract schema, keyed by input', () => {
    expect(userBody({ ...emptyUserForm, name: 'alice', password: 'correct horse' }).body).toEqual({
      name: 'alice',
      password: 'correct horse',
      displayName: undefined,
      email: undefined,
      admin: false,
    });
    const bad = userBody({ ...emptyUserForm, name: 'Alice!', password: 'short', email: 'nope' });
    expect(bad.body).toBeNull();
    expect(Object.keys(bad.errors ?? {}).sort()).toEqual(['email', 'name', 'password']);
    expect(bad.errors?.password).toEqual(['must be at least 8 characters']);
    // No password: a single sign-on user.
    expect(userBody({ ...emptyUserForm, name: 'bob' }).errors).toBeNull();
  });

  it('builds a token body: blank expiry never expires, ceiling and scope only when chosen', () => {
    expect(tokenBody({ ...emptyTokenForm, name: 'ci' }).body).toEqual({
      name: 'ci',
      expiresIn: '90d',
      role: undefined,
      project: undefined,
    });
    expect(tokenBody({ name: 'ci', expiresIn: '', role: 'viewer', project: 'team-a' }).body).toEqual({
      name: 'ci',
      expiresIn: undefined,
      role: 'viewer',
      project: 'team-a',
    });
    expect(tokenBody({ ...emptyTokenForm, name: 'ci', expiresIn: '3 weeks' }).errors?.expiresIn).toContain(
      'must be a number and a unit: s, m, h or d (e.g. 90d)',
    );
    expect(tokenBody({ ...emptyTokenForm, name: 'ci', expiresIn: '800d' }).errors?.expiresIn).toEqual([
      'must be at most 731d',
    ]);
  });

  it('sends only the quotas that changed, null for a limit removed', () => {
    const current = { vms: 5, vcpus: 8 };
    const inputs = quotaInputs(current);
    expect(inputs.vms).toBe('5');
    expect(inputs.memoryMib).toBe('');
    expect(quotaPatch(inputs, current)).toEqual({ quotas: {}, errors: null });
    expect(quotaPatch({ ...inputs, vms: '', memoryMib: '4096', vcpus: ' 8 ' }, current)).toEqual({
      quotas: { vms: null, memoryMib: 4096 },
      errors: null,
    });
    expect(quotaPatch({ ...inputs, vms: '-1', disk: 'x', diskMib: '1.5' } as never, current).errors).toEqual({
      vms: ['a whole number, or blank for no limit'],
      diskMib: ['a whole number, or blank for no limit'],
    });
  });

  it('puts usage against quotas: percentages capped, no bar without a limit, a zero limit full', () => {
    const rows = quotaRows({ vms: 2, vcpus: 12, volumes: 0 }, usage);
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(by.vms).toMatchObject({ used: 3, limit: 2, pct: 100, label: 'VMs' });
    expect(by.vcpus).toMatchObject({ used: 6, limit: 12, pct: 50 });
    expect(by.volumes).toMatchObject({ used: 1, limit: 0, pct: 100 });
    expect(by.memoryMib).toMatchObject({ used: 768, limit: null, pct: null });
    expect(rows).toHaveLength(8);
  });

  it("puts the API's refusals next to their input", () => {
    expect(errorFields(new HearthError('USER_NAME_TAKEN', 'alice exists'))).toEqual({
      name: ['alice exists'],
    });
    expect(
      errorFields(new HearthError('VALIDATION_FAILED', 'bad', { fields: { 'quotas.vms': ['too big'] } })),
    ).toEqual({ quotas: ['vms: too big'] });
    expect(errorFields(new Error('network'))).toEqual({});
  });
});
