import { describe, expect, it } from 'vitest';
import { onlyImageLinksTouched } from './create.ts';

// tar's exit 1 is forgiven only for image files whose ctime moved (links made elsewhere).
describe('onlyImageLinksTouched', () => {
  const changed = (f: string) => `tar: ${f}: file changed as we read it`;
  it('forgives a moved ctime on image files only', () => {
    expect(onlyImageLinksTouched(1, `${changed('images/ab/cd.elf')}\n`)).toBe(true);
    expect(onlyImageLinksTouched(1, `${changed('images/a')}\n${changed('images/b')}\n`)).toBe(true);
  });
  it('fails for any other file, any other complaint, or any other exit', () => {
    expect(onlyImageLinksTouched(1, `${changed('db/pglite.tar')}\n`)).toBe(false);
    expect(onlyImageLinksTouched(1, `${changed('images/a')}\ntar: images/b: Cannot open\n`)).toBe(false);
    expect(onlyImageLinksTouched(2, `${changed('images/a')}\n`)).toBe(false);
    expect(onlyImageLinksTouched(1, '')).toBe(false);
  });
});
