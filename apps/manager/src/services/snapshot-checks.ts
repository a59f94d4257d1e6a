import { HearthError } from '@hearth/contract';
import type { Stores } from '../store/index.ts';
import type { SnapshotRow } from '../store/snapshots.ts';

/**
 * A snapshot restores only onto exactly what it was taken with: the same kernel and image bytes
 * (the guest's memory has them cached and mapped) and a finished state.
 */
export async function assertRestorable(stores: Stores, snap: SnapshotRow): Promise<void> {
  if (snap.state !== 'ready') {
    throw new HearthError(
      'SNAPSHOT_INCOMPATIBLE',
      `Restoring snapshot ${snap.name} failed: it is ${snap.state}.`,
      {
        detail: { state: snap.state },
      },
    );
  }
  for (const [what, id, sha] of [
    ['kernel', snap.kernel_id, snap.kernel_sha256],
    ['image', snap.image_id, snap.image_sha256],
  ] as const) {
    const img = await stores.images.getUnscoped(id);
    if (!img) {
      throw new HearthError(
        'SNAPSHOT_INCOMPATIBLE',
        `Restoring snapshot ${snap.name} failed: its ${what} (${id}) has been deleted.`,
        { detail: { [what]: id, reason: 'deleted' } },
      );
    }
    if (img.sha256 !== sha) {
      throw new HearthError(
        'SNAPSHOT_INCOMPATIBLE',
        `Restoring snapshot ${snap.name} failed: its ${what} "${img.name}" changed since (sha256 ${sha.slice(0, 12)}… then, ${img.sha256.slice(0, 12)}… now).`,
        { detail: { [what]: id, then: sha, now: img.sha256 } },
      );
    }
  }
}
