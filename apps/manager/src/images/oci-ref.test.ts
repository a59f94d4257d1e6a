import { describe, expect, it } from 'vitest';
import { isLoopbackRegistry, nameFromRef, parseOciRef } from './oci-ref.ts';

const D = 'sha256:' + 'ab'.repeat(32);

describe('parseOciRef', () => {
  it.each([
    ['node:22-alpine', 'docker.io/library/node:22-alpine'],
    ['busybox', 'docker.io/library/busybox:latest'],
    ['ghcr.io/org/app:tag', 'ghcr.io/org/app:tag'],
    ['localhost:5000/app:tag', 'localhost:5000/app:tag'],
    ['localhost/app', 'localhost/app:latest'],
    [`registry:5000/x@${D}`, `registry:5000/x@${D}`],
    [`127.0.0.1:5000/a/b:v1@${D}`, `127.0.0.1:5000/a/b:v1@${D}`],
    ['docker://alpine:3', 'docker.io/library/alpine:3'],
    ['user/repo', 'docker.io/user/repo:latest'],
    ['[::1]:5000/app:v1', '[::1]:5000/app:v1'],
  ])('%s → %s', (input, canonical) => {
    expect(parseOciRef(input)?.canonical).toBe(canonical);
  });

  it.each([
    '',
    'Upper/Case',
    'a b',
    'x@sha256:short',
    'repo:',
    'http://x/y',
    'a//b',
    'localhost:99999/x:tag',
    'localhost:0/x',
    'registry:port/x',
    'a:1:2/x',
  ])('refuses %j', (input) => {
    expect(parseOciRef(input)).toBeNull();
  });

  it('names and loopback', () => {
    expect(nameFromRef(parseOciRef('node:22-alpine')!)).toBe('oci-node-22-alpine');
    expect(nameFromRef(parseOciRef(`x/y@${D}`)!)).toBe('oci-y-abababababab');
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('127.0.0.1:40123')).toBe(true);
    expect(isLoopbackRegistry('ghcr.io')).toBe(false);
  });
});
