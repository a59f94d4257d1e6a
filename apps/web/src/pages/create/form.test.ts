import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import { apiErrors, emptyForm, firstStepWithError, stepErrors, toBody, validate } from './form.ts';

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
});
