import { expect } from 'vitest';
import { HearthError } from '@hearth/contract';

/** Runs `fn`, expects it to fail with the catalogue `code` (and HTTP `status`), returns the error. */
export async function expectCode(
  fn: () => Promise<unknown>,
  code: string,
  status?: number,
): Promise<HearthError> {
  const e = await fn().then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HearthError);
  expect((e as HearthError).code).toBe(code);
  if (status) expect((e as HearthError).status).toBe(status);
  return e as HearthError;
}
