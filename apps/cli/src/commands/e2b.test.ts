import { describe, expect, it } from 'vitest';
import { e2bEnv } from './e2b.ts';

describe('hearth e2b env', () => {
  it('points both E2B URLs at the manager’s /e2b prefix', () => {
    expect(e2bEnv('http://10.0.0.5:18080/', 'e2b_abc')).toEqual({
      E2B_API_URL: 'http://10.0.0.5:18080/e2b',
      E2B_SANDBOX_URL: 'http://10.0.0.5:18080/e2b',
      E2B_API_KEY: 'e2b_abc',
    });
  });
});
