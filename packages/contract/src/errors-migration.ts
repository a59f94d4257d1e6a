/**
 * The live-migration and drain part of the one error catalogue, spread into `errorCatalogue` in
 * errors.ts: same rules, codes never reused.
 */
export const migrationErrors = {
  MIGRATION_UNSUPPORTED: {
    status: 409,
    hint: 'Read the reason: a VM with volumes attached, or a VMM without live migration, is moved stopped (stop it, then migrate).',
  },
  MIGRATION_NO_TARGET: {
    status: 409,
    hint: 'Name another ready, uncordoned host with `--to`, or add capacity; the VM cannot stay on the host it is leaving.',
  },
  MIGRATION_FAILED: {
    status: 502,
    hint: 'The VM stayed where it was, unchanged; read the reason (and the VM events), fix it and migrate again.',
  },
  MIGRATION_IN_PROGRESS: { status: 409, hint: 'Wait for the migration under way to finish.' },
} as const;
