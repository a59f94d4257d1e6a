import { describe, expect, it } from 'vitest';
import {
  emptyTemplateForm,
  templateFields,
  toInstantiateBody,
  toTemplateBody,
  validateInstantiate,
  validateTemplate,
} from './form.ts';

describe('template form', () => {
  it('builds a CreateTemplateBody from the wizard inputs, with volumes one per line', () => {
    const body = toTemplateBody({
      ...emptyTemplateForm,
      templateName: 'web',
      vcpus: '2',
      memoryMib: '256',
      env: 'A=1',
      user: 'app',
      volumes: '2gb\n512mib raw\n',
    });
    expect(body).toEqual({
      name: 'web',
      project: 'default',
      description: '',
      spec: {
        vcpus: 2,
        memoryMib: 256,
        diskSize: '1gb',
        env: { A: '1' },
        user: 'app',
        volumes: [{ size: '2gb' }, { size: '512mib', format: 'raw' }],
      },
    });
    expect(validateTemplate({ ...emptyTemplateForm, templateName: 'web' })).toEqual({});
  });

  it('keys the contract schema errors by input: template name, spec fields', () => {
    const errors = validateTemplate({
      ...emptyTemplateForm,
      templateName: 'Bad Name',
      vcpus: '0',
      timeout: 'soon',
    });
    expect(Object.keys(errors).sort()).toEqual(['templateName', 'timeout', 'vcpus']);
    expect(templateFields({ 'spec.memoryMib': ['too small'], name: ['taken'] })).toEqual({
      memoryMib: ['too small'],
      templateName: ['taken'],
    });
  });

  it('instantiate: count within 1..50, prefix and password optional', () => {
    expect(toInstantiateBody({ count: '3', namePrefix: ' web ', password: '' })).toEqual({
      count: 3,
      namePrefix: 'web',
    });
    expect(validateInstantiate({ count: '0', namePrefix: '', password: '' })).toHaveProperty('count');
    expect(validateInstantiate({ count: '2', namePrefix: 'UPPER', password: 'x' })).toHaveProperty(
      'namePrefix',
    );
  });
});
