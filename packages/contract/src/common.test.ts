import { describe, expect, it } from 'vitest';
import { newId, parseDuration, parseSize } from './common.ts';

describe('ids', () => {
  it('are prefixed, fixed-length and sort by creation time', async () => {
    const a = newId('vm');
    await new Promise((r) => setTimeout(r, 2));
    const b = newId('vm');
    expect(a).toMatch(/^vm_[0-9a-z]{26}$/);
    expect(b > a).toBe(true);
  });
});

describe('parseSize', () => {
  it.each([
    ['10gb', 10 * 2 ** 30],
    ['512MiB', 512 * 2 ** 20],
    ['1g', 2 ** 30],
    ['4096', 4096],
    ['1.5G', 1.5 * 2 ** 30],
  ])('%s', (text, bytes) => expect(parseSize(text)).toBe(bytes));
  it('rejects nonsense', () => {
    expect(parseSize('lots')).toBeNull();
    expect(parseSize('-1g')).toBeNull();
  });
});

describe('parseDuration', () => {
  it('parses units and rejects the rest', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('soon')).toBeNull();
  });
});
