/**
 * The snapshot-schedule and backup part of the one error catalogue, spread into
 * `errorCatalogue` in errors.ts: same rules, codes never reused.
 */
export const backupErrors = {
  SCHEDULE_NOT_FOUND: {
    status: 404,
    hint: 'List snapshot schedules with `hearth schedule ls` or GET /v1/snapshot-schedules; ids and names are accepted.',
  },
  SCHEDULE_NAME_TAKEN: {
    status: 409,
    hint: 'Choose another schedule name, or delete the schedule that has it.',
  },
  SNAPSHOT_KIND_UNSUPPORTED: {
    status: 422,
    hint: 'Take a snapshot with memory (kind `memory`, or a schedule with `memory: true`): `detail.vmm` says which VMM refused the kind and `detail.reason` why.',
  },
  BACKUP_RUNNING: {
    status: 409,
    hint: 'One backup runs at a time on a manager (each dumps the database and reads every image); wait for it to finish and ask again.',
  },
  VM_ARCHIVE_INVALID: {
    status: 422,
    hint: 'The file is not a VM archive of `hearth vm export` (manifest.json first, then the members it lists), or it was cut short; export the VM again.',
  },
  VM_ARCHIVE_VERSION_UNSUPPORTED: {
    status: 422,
    hint: '`detail` names the archive format version and the versions this manager reads; import it with a Hearth that reads that version, or export again from a matching one.',
  },
  VM_ARCHIVE_CHECKSUM_MISMATCH: {
    status: 422,
    hint: 'A member of the archive does not hash to the sha256 its manifest gives (`detail.file`): the archive was altered or damaged in transit. Nothing was kept; export the VM again.',
  },
  VM_ARCHIVE_IMAGE_MISSING: {
    status: 422,
    hint: 'The archive names its boot image or kernel by sha256 (`detail`) and this manager has none with that content: import that image first, or export with `--with-image` to carry the rootfs image in the archive.',
  },
} as const;
