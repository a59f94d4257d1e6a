import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { uploadMetadata } from './file-metadata.ts';

const req = (headersDistinct: Record<string, string[]>) =>
  ({ headersDistinct }) as unknown as IncomingMessage;

describe('uploadMetadata', () => {
  it('takes X-Metadata-* headers as envd does: lowercased keys, the first of repeated values', () => {
    expect(
      uploadMetadata(
        req({
          'x-metadata-author': ['ann', 'bob'],
          'x-metadata-purpose': ['a b'],
          'x-metadata-': ['ignored'],
          'content-type': ['text/plain'],
        }),
      ),
    ).toEqual({ author: 'ann', purpose: 'a b' });
    expect(uploadMetadata(req({ 'content-type': ['x'] }))).toBeUndefined();
  });

  it('refuses what a file cannot keep', () => {
    expect(() => uploadMetadata(req({ 'x-metadata-k': ['caf\u00e9'] }))).toThrow(/printable US-ASCII/);
    expect(() => uploadMetadata(req({ [`x-metadata-${'k'.repeat(247)}`]: ['v'] }))).toThrow(/exceeds 246/);
    expect(() =>
      uploadMetadata(req({ 'x-metadata-a': ['v'.repeat(2100)], 'x-metadata-b': ['v'.repeat(2100)] })),
    ).toThrow(/exceeds 4096/);
  });
});
