import { FileMeta, FS_META_FEATURE } from '@hearth/contract';
import { GuestError } from '../guest/errors.ts';
import type { GuestConnection } from '../guest/connection.ts';

/**
 * The metadata an upload asks the guest to keep (the `meta` query, a JSON object of strings),
 * or undefined when it asks for none. A guest agent from before file metadata would drop it
 * without a word: such a write is refused instead.
 */
export function uploadMeta(guest: GuestConnection, raw: string | undefined): FileMeta | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new GuestError('BAD_REQUEST', 'meta must be a JSON object of strings');
  }
  const meta = FileMeta.safeParse(parsed);
  if (!meta.success) throw new GuestError('BAD_REQUEST', 'meta must be a JSON object of strings');
  if (Object.keys(meta.data).length === 0) return undefined;
  if (!guest.info?.capabilities.includes(FS_META_FEATURE)) {
    throw new GuestError(
      'BAD_REQUEST',
      "this VM's guest agent predates file metadata: rebuild its image with a newer guest agent",
    );
  }
  return meta.data;
}
