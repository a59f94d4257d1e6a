import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnce, recipeKey, BOOT_MARKER, type BuiltinArtifact } from './builtin.ts';
import { ensureGuestAgent } from './guest-agent.ts';

/**
 * Debian images with systemd, built from Debian's packages on first use (a minute or more each,
 * too slow for every setup) and cached by recipe hash. Two stages: the Debian tree
 * (debian-rootfs.sh, keyed by its recipe and suite) and the image with the guest agent
 * (debian-image.sh, keyed by its recipe, the tree's key and the agent's), so a new agent repacks
 * the tree instead of downloading Debian again.
 */
const DISTROS = {
  'debian-12': {
    suite: 'bookworm',
    description: 'Debian 12 (bookworm) with systemd, openssh-server, cloud-init',
  },
  'debian-13': {
    suite: 'trixie',
    description: 'Debian 13 (trixie) with systemd, openssh-server, cloud-init',
  },
} as const;
export type DistroName = keyof typeof DISTROS;

export function isDistroName(name: string): name is DistroName {
  return Object.hasOwn(DISTROS, name);
}

export async function ensureDistro(name: DistroName): Promise<BuiltinArtifact> {
  const { suite, description } = DISTROS[name];
  const treeKey = await recipeKey('debian-rootfs.sh', suite);
  const tree = await buildOnce('debian-rootfs.sh', treeKey, ['rootfs.tar', 'version'], [suite]);
  const agent = await ensureGuestAgent();
  const dir = await buildOnce(
    'debian-image.sh',
    await recipeKey('debian-image.sh', `${treeKey}\0${agent.key}`),
    ['rootfs.ext4', 'version'],
    [join(tree, 'rootfs.tar'), agent.path],
  );
  const version = (await readFile(join(dir, 'version'), 'utf8')).trim();
  return {
    name,
    kind: 'rootfs',
    format: 'ext4',
    path: join(dir, 'rootfs.ext4'),
    meta: { bootMarker: BOOT_MARKER, distro: name, version, guestAgent: agent.key, description },
  };
}
