import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { GuestBootConfig } from '@hearth/contract';

const run = promisify(execFile);

export const GUEST_AGENT_GUEST_PATH = '/usr/sbin/hearth-guest';
export const GUEST_CONFIG_PATH = '/etc/hearth/guest.json';
const INITTAB_LINE = `::respawn:${GUEST_AGENT_GUEST_PATH}`;
const SYSTEMD_UNIT = `[Unit]
Description=Hearth guest agent
After=local-fs.target

[Service]
ExecStart=${GUEST_AGENT_GUEST_PATH}
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
`;

export interface InjectResult {
  /** The image runs a guest agent at boot (baked in, or injected now). */
  hasAgent: boolean;
  injected: boolean;
  /** Why no agent could be arranged, when hasAgent is false. */
  reason: string | null;
}

/** Runs debugfs requests against an ext4 image; no mount, no loop device. */
async function debugfs(disk: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('debugfs', [...args, disk], { maxBuffer: 16 * 1024 * 1024 });
}

async function exists(disk: string, path: string): Promise<boolean> {
  const { stdout } = await debugfs(disk, ['-R', `stat ${path}`]);
  return /Inode:/.test(stdout);
}

async function cat(disk: string, path: string): Promise<string | null> {
  if (!(await exists(disk, path))) return null;
  return (await debugfs(disk, ['-R', `cat ${path}`])).stdout;
}

/**
 * Writes the per-VM boot configuration into a stopped VM's root disk and, when the image has no
 * guest agent, copies ours in and hooks it into the image's init (busybox inittab or systemd).
 * debugfs edits the ext4 image directly, so this needs no mount and works on any host.
 */
export async function injectGuest(
  disk: string,
  config: GuestBootConfig,
  agentBinary: string | null,
  opts: { asInit?: boolean } = {},
): Promise<InjectResult> {
  // A VM that was killed leaves its journal unreplayed; editing around it would risk the data.
  await replayJournal(disk);
  const work = await mkdtemp(join(tmpdir(), 'hearth-inject-'));
  try {
    const script: string[] = ['mkdir /etc', 'mkdir /etc/hearth', `rm ${GUEST_CONFIG_PATH}`];
    const cfgFile = join(work, 'guest.json');
    await writeFile(cfgFile, JSON.stringify(config) + '\n', { mode: 0o600 });
    await chmod(cfgFile, 0o600);
    script.push(`write ${cfgFile} ${GUEST_CONFIG_PATH}`);

    let result: InjectResult = { hasAgent: true, injected: false, reason: null };
    if (!(await exists(disk, GUEST_AGENT_GUEST_PATH))) {
      result = await planInjection(disk, agentBinary, work, script, opts.asInit ?? false);
    }
    const scriptFile = join(work, 'script');
    await writeFile(scriptFile, script.join('\n') + '\n');
    await debugfs(disk, ['-w', '-f', scriptFile]);
    if (!(await exists(disk, GUEST_CONFIG_PATH))) {
      throw new Error(`Writing the guest configuration into ${disk} failed (is it an ext4 image?)`);
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Replays the ext4 journal of a disk whose VM died without unmounting (exactly what a mount does). */
async function replayJournal(disk: string): Promise<void> {
  try {
    await run('e2fsck', ['-E', 'journal_only', '-p', disk]);
  } catch (e) {
    const err = e as { code?: number; stderr?: string; message: string };
    // 1 = fixed, 2 = fixed (reboot advised, meaningless here); 4 and up = real trouble.
    if (typeof err.code === 'number' && err.code < 4) return;
    throw new Error(`Checking the root filesystem failed: ${err.stderr?.trim() || err.message}`);
  }
}

async function planInjection(
  disk: string,
  agentBinary: string | null,
  work: string,
  script: string[],
  asInit: boolean,
): Promise<InjectResult> {
  if (!agentBinary) return { hasAgent: false, injected: false, reason: 'no guest agent binary on this host' };
  const pushBinary = () => {
    script.push('mkdir /usr', 'mkdir /usr/sbin', `write ${agentBinary} ${GUEST_AGENT_GUEST_PATH}`);
    script.push(
      `sif ${GUEST_AGENT_GUEST_PATH} mode 0100755`,
      `sif ${GUEST_AGENT_GUEST_PATH} uid 0`,
      `sif ${GUEST_AGENT_GUEST_PATH} gid 0`,
    );
  };
  // The kernel starts the agent itself (init=/usr/sbin/hearth-guest): nothing to hook into.
  if (asInit) {
    pushBinary();
    return { hasAgent: true, injected: true, reason: null };
  }
  const inittab = await cat(disk, '/etc/inittab');
  const systemd =
    (await exists(disk, '/lib/systemd/systemd')) || (await exists(disk, '/usr/lib/systemd/systemd'));
  if (inittab === null && !systemd) {
    return {
      hasAgent: false,
      injected: false,
      reason:
        'the image has neither a busybox inittab nor systemd (and was not booted with the agent as init)',
    };
  }
  pushBinary();
  if (inittab !== null) {
    const file = join(work, 'inittab');
    await writeFile(file, `${inittab.replace(/\n?$/, '\n')}${INITTAB_LINE}\n`, { mode: 0o644 });
    script.push('rm /etc/inittab', `write ${file} /etc/inittab`);
  } else {
    const unit = join(work, 'hearth-guest.service');
    await writeFile(unit, SYSTEMD_UNIT, { mode: 0o644 });
    const dir = '/etc/systemd/system';
    script.push(
      'mkdir /etc/systemd',
      `mkdir ${dir}`,
      `mkdir ${dir}/multi-user.target.wants`,
      `write ${unit} ${dir}/hearth-guest.service`,
      `symlink ${dir}/multi-user.target.wants/hearth-guest.service ${dir}/hearth-guest.service`,
    );
  }
  return { hasAgent: true, injected: true, reason: null };
}
