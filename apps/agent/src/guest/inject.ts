import { chmod, copyFile, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnUntrustedDisk, toolInput, type ToolOptions } from '@hearth/images';

export const GUEST_AGENT_GUEST_PATH = '/usr/sbin/hearth-guest';
/** The line the guest agent prints on the console as it starts (before its boot-time setup). */
export const GUEST_AGENT_UP_MARKER = 'hearth-guest: agent up';
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

/**
 * Runs debugfs requests against an ext4 image; no mount, no loop device. The image came from a
 * registry or a URL, so a crafted one must neither hang the boot that prepares it nor turn a
 * libext2fs bug into host root: debugfs runs as nobody on a descriptor, with a deadline.
 */
async function debugfs(disk: string, args: string[], opts: ToolOptions = {}): Promise<string> {
  const r = await runOnUntrustedDisk(disk, (dev) => ['debugfs', ...args, dev], opts);
  if (r.timedOut) throw new Error(`Reading ${disk} with debugfs took too long: the image may be crafted`);
  if (r.code !== 0) throw new Error(`debugfs on ${disk} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

async function exists(disk: string, path: string): Promise<boolean> {
  return /Inode:/.test(await debugfs(disk, ['-R', `stat ${path}`], { readOnly: true }));
}

async function cat(disk: string, path: string): Promise<string | null> {
  if (!(await exists(disk, path))) return null;
  return debugfs(disk, ['-R', `cat ${path}`], { readOnly: true });
}

/**
 * Copies our guest agent into an image that lacks one and hooks it into the image's init
 * (busybox inittab or systemd). Runs only on the host's own prepared copy of an image (see
 * prepared-image.ts), never on a disk a guest has written: per-VM configuration travels on the
 * config disk instead. debugfs edits the ext4 image directly, so this needs no mount.
 */
export async function injectAgent(
  disk: string,
  agentBinary: string | null,
  opts: { asInit?: boolean } = {},
): Promise<InjectResult> {
  if (!(await exists(disk, '/'))) throw new Error(`Reading ${disk} failed: it is not an ext4 image`);
  if (await exists(disk, GUEST_AGENT_GUEST_PATH)) return { hasAgent: true, injected: false, reason: null };
  const work = await mkdtemp(join(tmpdir(), 'hearth-inject-'));
  try {
    const script: string[] = [];
    const inputs: string[] = [];
    const result = await planInjection(disk, agentBinary, work, script, inputs, opts.asInit ?? false);
    if (!script.length) return result;
    // debugfs (as nobody) reads the files it writes into the image through descriptors we opened,
    // not by path: it sees these files and nothing else of ours. Each is a 0644 copy in our private
    // directory, so its mode lets nobody read it whatever the original's, and it cannot change
    // under the tool.
    await debugfs(disk, ['-w', '-f', '-'], { inputs, stdin: script.join('\n') + '\n' });
    if (!(await exists(disk, GUEST_AGENT_GUEST_PATH))) {
      throw new Error(`Copying the guest agent into ${disk} failed (is it an ext4 image?)`);
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function planInjection(
  disk: string,
  agentBinary: string | null,
  work: string,
  script: string[],
  inputs: string[],
  asInit: boolean,
): Promise<InjectResult> {
  if (!agentBinary) return { hasAgent: false, injected: false, reason: 'no guest agent binary on this host' };
  /** A file in `work` that debugfs reads: its name in the script. */
  const input = async (name: string, content?: string): Promise<string> => {
    const file = join(work, name);
    if (content === undefined) await copyFile(agentBinary, file, constants.COPYFILE_FICLONE);
    else await writeFile(file, content);
    await chmod(file, 0o644);
    inputs.push(file);
    return toolInput(inputs.length - 1);
  };
  const pushBinary = async () => {
    const src = await input('hearth-guest');
    script.push('mkdir /usr', 'mkdir /usr/sbin', `write ${src} ${GUEST_AGENT_GUEST_PATH}`);
    script.push(
      `sif ${GUEST_AGENT_GUEST_PATH} mode 0100755`,
      `sif ${GUEST_AGENT_GUEST_PATH} uid 0`,
      `sif ${GUEST_AGENT_GUEST_PATH} gid 0`,
    );
  };
  // The kernel starts the agent itself (init=/usr/sbin/hearth-guest): nothing to hook into.
  if (asInit) {
    await pushBinary();
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
  await pushBinary();
  if (inittab !== null) {
    const file = await input('inittab', `${inittab.replace(/\n?$/, '\n')}${INITTAB_LINE}\n`);
    script.push('rm /etc/inittab', `write ${file} /etc/inittab`);
  } else {
    const unit = await input('hearth-guest.service', SYSTEMD_UNIT);
    const dir = '/etc/systemd/system';
    script.push(
      'mkdir /etc',
      'mkdir /etc/systemd',
      `mkdir ${dir}`,
      `mkdir ${dir}/multi-user.target.wants`,
      `write ${unit} ${dir}/hearth-guest.service`,
      `symlink ${dir}/multi-user.target.wants/hearth-guest.service ${dir}/hearth-guest.service`,
    );
  }
  return { hasAgent: true, injected: true, reason: null };
}
