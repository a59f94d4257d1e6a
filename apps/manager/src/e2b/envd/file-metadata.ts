import type { IncomingMessage } from 'node:http';
import { EnvdError } from './context.ts';

/** envd's header prefix for a file's user metadata on uploads (envd 0.6.2). */
const PREFIX = 'x-metadata-';
/** The kernel's limit on an extended attribute's name, less the `user.e2b.` namespace. */
const MAX_KEY = 255 - 'user.e2b.'.length;
/** ext4 keeps all of an inode's attributes in one 4 KiB block. */
const MAX_TOTAL = 4096;
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * The metadata an upload carries, as envd reads it: every `X-Metadata-<key>` header, the key
 * lowercased, the first value of a repeated header; undefined when there is none. Keys and
 * values must be printable US-ASCII and fit what the guest can keep (`invalid_argument`, a 400,
 * before any byte is written).
 */
export function uploadMetadata(req: IncomingMessage): Record<string, string> | undefined {
  let meta: Record<string, string> | undefined;
  let total = 0;
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (!name.startsWith(PREFIX) || !values?.length) continue;
    const key = name.slice(PREFIX.length);
    if (key === '') continue;
    const value = values[0]!;
    if (key.length > MAX_KEY) {
      throw new EnvdError('invalid_argument', `invalid metadata: key "${key}" exceeds ${MAX_KEY} bytes`);
    }
    if (!PRINTABLE.test(key) || !PRINTABLE.test(value)) {
      throw new EnvdError(
        'invalid_argument',
        `invalid metadata: key "${key}": keys and values must be printable US-ASCII`,
      );
    }
    total += 'user.e2b.'.length + key.length + value.length;
    (meta ??= {})[key] = value;
  }
  if (total > MAX_TOTAL) {
    throw new EnvdError(
      'invalid_argument',
      `invalid metadata: total size ${total} exceeds ${MAX_TOTAL} bytes`,
    );
  }
  return meta;
}
