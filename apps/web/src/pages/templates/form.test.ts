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

  it('takes networks by name in order, egress and bandwidth; no addresses or ports', () => {
    const f = {
      ...emptyTemplateForm,
      templateName: 'web',
      nics: [
        { network: 'default', ip: '' },
        { network: 'iso', ip: '10.0.0.5' },
      ],
      ports: [{ host: '8080', guest: '80', protocol: 'tcp' as const }],
      egressDefault: 'deny' as const,
      egressAllow: '10.0.0.0/8',
      bandwidthMbit: '10',
    };
    expect(toTemplateBody(f).spec).toMatchObject({
      networks: ['default', 'iso'],
      egress: { default: 'deny', allow: ['10.0.0.0/8'], deny: [] },
      bandwidthMbit: 10,
    });
    expect(toTemplateBody(f).spec).not.toHaveProperty('ports');
    expect(toTemplateBody(emptyTemplateForm).spec).not.toHaveProperty('networks');
    expect(toTemplateBody(emptyTemplateForm).spec).not.toHaveProperty('egress');
    expect(validateTemplate(f)).toEqual({});
    expect(validateTemplate({ ...f, egressDeny: 'x', bandwidthMbit: '0' })).toEqual({
      'egress.deny': ['"x" is not an IPv4 address or CIDR such as 10.0.0.0/8'],
      bandwidthMbit: ['a whole number of Mbit/s from 1 to 100000'],
    });
    expect(templateFields({ 'spec.egress.allow.0': ['bad'], 'spec.networks.1': ['unknown'] })).toEqual({
      'egress.allow': ['0: bad'],
      'networks.1': ['unknown'],
    });
  });
});
