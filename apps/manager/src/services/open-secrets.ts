import { HearthError } from '@hearth/contract';
import type { Sealer } from '../crypto/sealed.ts';
import type { Stores } from '../store/index.ts';

/** The secrets `secretEnv` names, opened; SECRET_NOT_FOUND names any that do not exist. */
export async function openSecrets(
  stores: Stores,
  sealer: Sealer,
  project: string,
  secretEnv: Record<string, string>,
  what: string,
): Promise<Record<string, string>> {
  const names = [...new Set(Object.values(secretEnv))];
  const rows = await stores.secrets.many(project, names);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new HearthError(
      'SECRET_NOT_FOUND',
      `${what} failed: the project has no secret ${missing.map((n) => `"${n}"`).join(', ')}.`,
      { fields: { secretEnv: missing.map((n) => `no secret "${n}"`) } },
    );
  }
  return Object.fromEntries(
    Object.entries(secretEnv).map(([k, name]) => [k, sealer.open(byName.get(name)!.value)]),
  );
}
