import { writeConfigDisk } from '../../guest/config-disk.ts';
import type { BootRun } from './run.ts';

/**
 * Step 2 (`config`): the per-boot configuration disk, written from scratch (the guest's root
 * disk is never opened). A restore writes it too: the restored VMM must have the device set the
 * snapshotted one had, though the guest already read its configuration then.
 */
export async function writeConfig(b: BootRun): Promise<void> {
  const { rec } = b;
  const spec = rec.spec;
  if (!spec.guest || !rec.hasAgent) return;
  await writeConfigDisk(b.files.configDisk, {
    secret: spec.guest.secret,
    hostname: spec.name,
    users: spec.guest.users,
    env: spec.env,
    ...(spec.guest.app ? { app: spec.guest.app } : {}),
    ...(spec.guest.userData !== undefined ? { userData: spec.guest.userData } : {}),
  });
  b.configDisk = b.files.configDisk;
}
