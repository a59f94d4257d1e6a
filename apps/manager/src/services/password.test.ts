import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hashPassword } from './password.ts';

describe('password hashing', () => {
  it('produces a salted SHA-512 crypt that verifies with the same salt', async () => {
    const a = await hashPassword('s3cret pass');
    const b = await hashPassword('s3cret pass');
    expect(a).toMatch(/^\$6\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{86}$/);
    expect(a).not.toBe(b);
    const salt = a.split('$')[2]!;
    const again = execFileSync('openssl', ['passwd', '-6', '-salt', salt, 's3cret pass']).toString().trim();
    expect(again).toBe(a);
  });
});
