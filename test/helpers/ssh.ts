import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vm } from '@hearth/contract';
import { ensureToolImage } from '@hearth/images';
import type { HearthClient } from '@hearth/sdk';

/** Uploads the OpenSSH tool image (busybox base + Debian's sshd) as `name`, once per platform. */
export async function uploadOpensshImage(c: HearthClient, name: string): Promise<string> {
  const image = await ensureToolImage('openssh');
  const bytes = await readFile(image.path);
  const img = await c.call('createImage', {
    body: { name, sha256: createHash('sha256').update(bytes).digest('hex') },
  });
  await c.raw(
    'uploadImageContent',
    { params: { id: img.id } },
    { body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } },
  );
  return String(image.meta.version);
}

/** A fresh ed25519 key pair in `dir` (id_ed25519, id_ed25519.pub); returns the public key line. */
export function makeKey(dir: string): { key: string; pub: string } {
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'hearth-test', '-f', key]);
  return { key, pub: execFileSync('ssh-keygen', ['-y', '-f', key]).toString().trim() };
}

/** A minimal sshd setup: host keys, key authentication only, sftp for scp. */
const SSHD_CONFIG = [
  'PermitRootLogin prohibit-password',
  'PubkeyAuthentication yes',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'UsePAM no',
  'PidFile /run/sshd.pid',
  'Subsystem sftp /usr/lib/openssh/sftp-server',
].join('\n');

async function sh(c: HearthClient, vm: string, command: string): Promise<string> {
  const r = await c.call('execVm', { params: { id: vm }, body: { command, timeoutMs: 120_000 } });
  if (r.exitCode !== 0) throw new Error(`guest: ${command}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Starts sshd in a VM booted from the OpenSSH tool image (no init system there starts it):
 * host keys generated in the guest, the privilege separation directory, the config above.
 */
export async function startSshd(c: HearthClient, vm: Vm): Promise<void> {
  await sh(
    c,
    vm.id,
    [
      'set -e',
      'mkdir -p /run/sshd /etc/ssh && chmod 0755 /run/sshd',
      'ssh-keygen -A >/dev/null',
      `printf '%s\\n' '${SSHD_CONFIG.replace(/\n/g, `' '`)}' > /etc/ssh/sshd_config`,
      '/usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/log/sshd.log',
    ].join('\n'),
  );
}

export { sh as guestShell };
