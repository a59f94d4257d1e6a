import { HearthError } from '@hearth/contract';

/** Cursors are opaque to clients: the last id of the previous page, base64url-encoded. */
export function encodeCursor(lastKey: string | number): string {
  return Buffer.from(String(lastKey)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[\w-]{1,128}$/.test(text)) {
    throw new HearthError(
      'VALIDATION_FAILED',
      'Reading the page cursor failed: it is not one this server issued.',
      {
        fields: { cursor: ['invalid cursor'] },
      },
    );
  }
  return text;
}

export function pageResult<T>(rows: T[], limit: number, key: (t: T) => string | number) {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, nextCursor: more ? encodeCursor(key(items[items.length - 1]!)) : null };
}
