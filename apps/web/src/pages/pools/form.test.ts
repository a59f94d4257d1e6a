import { describe, expect, it } from 'vitest';
import { HearthError, type Pool } from '@hearth/contract';
import {
  checkSize,
  emptyPoolForm,
  hitRateText,
  poolFieldsOf,
  poolSpecText,
  toPoolBody,
  validatePool,
} from './form.ts';

describe('pool form', () => {
  it('sends only the spec inputs given, so the API defaults the rest', () => {
    expect(toPoolBody({ ...emptyPoolForm, name: 'web' })).toEqual({
      name: 'web',
      project: 'default',
      mode: 'booted',
      size: 1,
      spec: {},
    });
    expect(
      toPoolBody({
        ...emptyPoolForm,
        name: 'web',
        mode: 'snapshot',
        size: '3',
        image: 'runtime-node22',
        vcpus: '2',
        memoryMib: '256',
        network: 'iso',
      }),
    ).toEqual({
      name: 'web',
      project: 'default',
      mode: 'snapshot',
      size: 3,
      spec: { image: 'runtime-node22', vcpus: 2, memoryMib: 256, network: 'iso' },
    });
  });

  it("checks with the contract's schema, keyed by input (spec fields unnested)", () => {
    const errors = validatePool({ ...emptyPoolForm, name: 'Bad Name', size: '65', memoryMib: '1' });
    expect(Object.keys(errors).sort()).toEqual(['memoryMib', 'name', 'size']);
    expect(validatePool({ ...emptyPoolForm, name: 'ok', size: '1.5' }).size).toEqual([
      'a whole number of VMs',
    ]);
    expect(validatePool({ ...emptyPoolForm, name: 'ok' })).toEqual({});
  });

  it('puts API refusals next to their input', () => {
    const taken = new HearthError('POOL_NAME_TAKEN', 'pool web exists');
    expect(poolFieldsOf(taken)).toEqual({ name: ['pool web exists'] });
    const fields = new HearthError('VALIDATION_FAILED', 'bad', { fields: { 'spec.vcpus': ['too many'] } });
    expect(poolFieldsOf(fields)).toEqual({ vcpus: ['too many'] });
    expect(poolFieldsOf(new Error('network down'))).toEqual({});
  });

  it('checks a new size within the bounds', () => {
    expect(checkSize(' 4 ')).toEqual({ size: 4 });
    expect(checkSize('x')).toEqual({ error: 'a whole number of VMs' });
    expect('error' in checkSize('65')).toBe(true);
  });

  it('says the spec and hit rate in words', () => {
    const pool = { spec: { vcpus: 1, memoryMib: 128 }, hits: 3, misses: 1, hitRate: 0.75 } as Pool;
    expect(poolSpecText(pool)).toBe('base image, 1 vCPU, 128 MiB');
    expect(poolSpecText({ spec: { template: 't', network: 'iso' } } as Pool)).toBe('template t, network iso');
    expect(hitRateText(pool)).toBe('75% (3 of 4)');
    expect(hitRateText({ hits: 0, misses: 0, hitRate: null })).toBe('—');
  });
});
