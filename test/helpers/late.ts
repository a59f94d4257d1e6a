/** A value a beforeAll hook sets; reading it before then throws an error that says so. */
export function late<T>(what: string) {
  let value: T | null = null;
  return {
    get(): T {
      if (value === null) throw new Error(`${what} is set in beforeAll`);
      return value;
    },
    /** The value, or null before it is set (for afterAll, after a failed beforeAll). */
    peek: (): T | null => value,
    set(v: T): T {
      value = v;
      return v;
    },
  };
}
