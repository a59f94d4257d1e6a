import { describe, expect, it } from 'vitest';
import { CreateContainerBody, HearthError } from '@hearth/contract';
import {
  containerFieldsOf,
  emptyContainerForm,
  inputFor,
  parsePorts,
  parseVolumes,
  toContainerBody,
  validateContainer,
  type ContainerForm,
} from './form.ts';

const form = (over: Partial<ContainerForm>): ContainerForm => ({
  ...emptyContainerForm,
  image: 'busybox:1',
  ...over,
});

describe('container form → CreateContainerBody', () => {
  it('sends only what was given, so the API defaults the rest', () => {
    expect(toContainerBody(form({}))).toEqual({ image: 'busybox:1' });
    expect(toContainerBody(form({ project: 'team-a' }))).toEqual({ image: 'busybox:1', project: 'team-a' });
    expect(validateContainer(form({}))).toEqual({});
  });

  it('maps every input the way docker run reads it', () => {
    const body = toContainerBody(
      form({
        image: ' registry:5000/web:1 ',
        name: 'web',
        project: 'default',
        pull: 'always',
        ports: '8080:80\n5353:53/udp, 8443:443',
        env: 'GREETING=hello world\nURL=http://x/?a=b\n\n',
        secretEnv: 'DB_PASSWORD = db-pass',
        volumes: 'data:/var/lib/data\nconf:/etc/app:ro',
        vcpus: '2',
        memoryMib: '512',
        restart: 'on-failure',
        maxRetries: '3',
        healthKind: 'http',
        healthPort: '80',
        healthPath: '/health',
        healthInterval: '5s',
        healthRetries: '2',
      }),
    );
    expect(body).toEqual({
      image: 'registry:5000/web:1',
      name: 'web',
      project: 'default',
      pull: 'always',
      ports: [
        { host: 8080, container: 80, protocol: 'tcp' },
        { host: 5353, container: 53, protocol: 'udp' },
        { host: 8443, container: 443, protocol: 'tcp' },
      ],
      env: { GREETING: 'hello world', URL: 'http://x/?a=b' },
      secretEnv: { DB_PASSWORD: 'db-pass' },
      volumes: [
        { source: 'data', target: '/var/lib/data', readOnly: false },
        { source: 'conf', target: '/etc/app', readOnly: true },
      ],
      vcpus: 2,
      memoryMib: 512,
      restart: 'on-failure:3',
      healthcheck: { http: { port: 80, path: '/health' }, interval: '5s', retries: 2 },
    });
    expect(CreateContainerBody.safeParse(body).success).toBe(true);
  });

  it('sends each kind of health check with only its own probe', () => {
    expect(toContainerBody(form({ healthKind: 'cmd', healthCmd: ' pg_isready ' })).healthcheck).toEqual({
      cmd: 'pg_isready',
    });
    expect(
      toContainerBody(form({ healthKind: 'tcp', healthPort: '5432', healthPath: '/ignored' })).healthcheck,
    ).toEqual({ tcp: { port: 5432 } });
    expect(toContainerBody(form({ healthKind: 'http', healthPort: '80' })).healthcheck).toEqual({
      http: { port: 80, path: '/' },
    });
    // No check chosen: the inputs left behind are not sent.
    expect(toContainerBody(form({ healthCmd: 'true' })).healthcheck).toBeUndefined();
    expect(toContainerBody(form({ restart: 'always', maxRetries: '3' })).restart).toBe('always');
    expect(toContainerBody(form({ restart: 'on-failure' })).restart).toBe('on-failure');
  });
});

describe('container form validation', () => {
  it('names malformed lines as typed', () => {
    expect(parsePorts('8080:80\n80\n1:2/sctp').errors).toEqual([
      '"80" (item 2): write HOST:CONTAINER like 8080:80, or 5353:53/udp',
      '"1:2/sctp" (item 3): write HOST:CONTAINER like 8080:80, or 5353:53/udp',
    ]);
    expect(parseVolumes('data\n:/x\nd:/x:rx\nd:/x:ro').errors).toHaveLength(3);
    const errors = validateContainer(form({ env: 'GOOD=1\nBAD', secretEnv: 'X' }));
    expect(errors.env).toEqual(['each line must look like NAME=value (check "BAD")']);
    expect(errors.secretEnv).toEqual(['each line must look like NAME=secret-name (check "X")']);
  });

  it("applies the contract's schema and keys its messages by input", () => {
    const errors = validateContainer(
      form({
        image: ' ',
        name: 'Web_1',
        ports: '8080:80\n70000:80',
        env: '1BAD=x',
        volumes: 'data:relative',
        memoryMib: '32',
        healthKind: 'http',
        healthPort: '80',
        healthPath: 'nope',
        healthInterval: 'often',
      }),
    );
    expect(Object.keys(errors).sort()).toEqual(
      ['env', 'healthInterval', 'healthPath', 'image', 'memoryMib', 'name', 'ports', 'volumes'].sort(),
    );
    expect(errors.image).toEqual(['give an image reference, such as nginx:1.25 or registry:5000/app:1']);
    expect(errors.name![0]).toMatch(/lowercase letters, digits and dashes/);
    expect(errors.ports![0]).toMatch(/^item 2, host: /);
    expect(errors.env![0]).toBe('1BAD: an environment variable name');
    expect(errors.volumes![0]).toMatch(/^item 1, target: an absolute path/);
    expect(errors.healthInterval![0]).toBe('must look like 30m, 2h or 45s');
  });

  it('asks for what the chosen health check and restart policy need', () => {
    expect(validateContainer(form({ healthKind: 'cmd' })).healthCmd).toEqual(['give the command to run']);
    expect(validateContainer(form({ healthKind: 'tcp' })).healthPort).toEqual(['give the port to probe']);
    expect(
      validateContainer(form({ healthKind: 'http', healthPort: '80', healthRetries: '0' })).healthRetries,
    ).toHaveLength(1);
    expect(validateContainer(form({ restart: 'on-failure', maxRetries: '1.5' })).maxRetries).toEqual([
      'a whole number of restarts',
    ]);
    expect(validateContainer(form({ restart: 'on-failure', maxRetries: '99999' })).maxRetries).toHaveLength(
      1,
    );
  });
});

describe('API refusals next to their inputs', () => {
  it('keys the API fields like the schema paths', () => {
    const e = new HearthError('VALIDATION_FAILED', 'bad', {
      fields: { 'ports.1.host': ['Too big'], 'healthcheck.tcp.port': ['Too small'], name: ['taken'] },
    });
    expect(containerFieldsOf(e)).toEqual({
      ports: ['item 2, host: Too big'],
      healthPort: ['Too small'],
      name: ['taken'],
    });
  });

  it('puts codes that concern one input next to it, and nothing for the rest', () => {
    const taken = new HearthError('CONTAINER_NAME_TAKEN', 'Container "web" exists.');
    expect(containerFieldsOf(taken)).toEqual({ name: ['Container "web" exists.'] });
    expect(containerFieldsOf(new HearthError('SECRET_NOT_FOUND', 'No secret db-pass.'))).toEqual({
      secretEnv: ['No secret db-pass.'],
    });
    expect(containerFieldsOf(new HearthError('PORT_TAKEN', 'Port 8080 is taken.'))).toEqual({
      ports: ['Port 8080 is taken.'],
    });
    expect(containerFieldsOf(new HearthError('QUOTA_EXCEEDED', 'Too many.'))).toEqual({});
    expect(containerFieldsOf(new Error('network'))).toEqual({});
  });

  it('maps paths to inputs', () => {
    expect(inputFor(['healthcheck'])).toEqual({ key: 'healthKind', where: '' });
    expect(inputFor(['healthcheck', 'http', 'path'])).toEqual({ key: 'healthPath', where: '' });
    expect(inputFor(['restart'], form({ restart: 'on-failure', maxRetries: '7' }))).toEqual({
      key: 'maxRetries',
      where: '',
    });
    expect(inputFor(['restart'])).toEqual({ key: 'restart', where: '' });
  });
});
