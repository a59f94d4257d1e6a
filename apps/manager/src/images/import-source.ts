import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { HearthError } from '@hearth/contract';

/** A host path import's file: only when the operator allows such imports, and only a file. */
export async function hostImportPath(p: string, allowed: boolean, what: string): Promise<string> {
  if (!allowed) {
    throw new HearthError(
      'IMAGE_SOURCE_FORBIDDEN',
      `${what} failed: this manager does not import from host paths.`,
    );
  }
  if (!isAbsolute(p))
    throw new HearthError('VALIDATION_FAILED', `${what} failed: the path must be absolute.`);
  const s = await stat(p).catch(() => null);
  if (!s?.isFile()) {
    throw new HearthError(
      'IMAGE_SOURCE_NOT_FOUND',
      `${what} failed: ${p} is not a file on the manager host.`,
    );
  }
  return p;
}

/** The name an import without one gets: the reference's last segment, without a disk suffix. */
export function defaultName(ref: string): string {
  const base = ref.split(/[/?#]/).filter(Boolean).pop() ?? 'image';
  return (
    base
      .toLowerCase()
      .replace(/\.(ext4|img|raw|qcow2)$/, '')
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
      .slice(0, 100) || 'image'
  );
}
