import type { Stores } from '../store/index.ts';
import type { ContentStore } from './content-store.ts';

/**
 * Removes stored content once no image record names it: records share content by hash, so a
 * record's delete (or a failed insert) must not take a file another record still points at.
 */
export async function discardIfUnused(
  deps: { stores: Stores; files: ContentStore },
  path: string | null | undefined,
): Promise<void> {
  if (path && (await deps.stores.images.countByPath(path)) === 0) await deps.files.discard(path);
}
