import { describe, expect, it } from 'vitest';
import {
  canonicalImageName,
  canonicalRuntime,
  RUNTIMES,
  runtimeImageName,
  runtimeOfImage,
} from './runtimes.ts';

describe('runtime names', () => {
  it('lists the runtimes as vmsan names them', () => {
    expect(RUNTIMES).toEqual(['base', 'node22', 'node24', 'python3.13', 'ruby']);
  });

  it('maps names and the python3 alias to runtimes and images; base is the base image', () => {
    expect(canonicalRuntime('python3')).toBe('python3.13');
    expect(canonicalRuntime('ruby')).toBe('ruby');
    expect(runtimeImageName('base')).toBe('base');
    expect(runtimeImageName('node24')).toBe('runtime-node24');
    expect(runtimeOfImage('runtime-python3')).toBe('python3.13');
    expect(runtimeOfImage('runtime-python3.13')).toBe('python3.13');
    expect(runtimeOfImage('runtime-base')).toBeNull();
    expect(canonicalImageName('runtime-python3')).toBe('runtime-python3.13');
    expect(canonicalImageName('runtime-base')).toBe('base');
    expect(canonicalImageName('my-image')).toBe('my-image');
  });

  it('takes no inherited property for a name', () => {
    for (const n of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(canonicalRuntime(n)).toBeNull();
      expect(runtimeOfImage(`runtime-${n}`)).toBeNull();
      expect(canonicalImageName(`runtime-${n}`)).toBe(`runtime-${n}`);
    }
  });
});
