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

  it('maps each boot source to the API: image, runtime-<name>, an imported OCI image, a snapshot', () => {
    const f = { ...emptyForm, name: 'b', image: 'img_1', kernel: 'k_1', vcpus: '2' };
    expect(toBody(f)).toMatchObject({ image: 'img_1', kernel: 'k_1', vcpus: 2 });
    expect(toBody({ ...f, source: 'runtime', runtime: 'python3' })).toMatchObject({
      image: 'runtime-python3',
      kernel: 'k_1',
    });
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
});
