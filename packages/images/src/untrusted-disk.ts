import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, chown, open, stat, type FileHandle } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/**
 * The uid and gid (nobody) a filesystem tool runs as when it reads a disk someone else wrote (a
 * guest's volume, an image from a registry or a URL): a bug in libext2fs that a crafted
 * filesystem triggers must not become host root.
 */
export const TOOL_UID = 65534;

/** How long a tool may take on such a disk before it is killed (a crafted image can make it spin). */
export const TOOL_TIMEOUT_MS = 120_000;

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ToolOptions {
  timeoutMs?: number;
  uid?: number;
  /** The tool only reads the disk (debugfs without -w): the descriptor is opened read-only. */
  readOnly?: boolean;
  /**
   * Further files the tool reads (debugfs `write` sources), handed over as `/dev/fd/4`, `/dev/fd/5`…
   * The tool reopens such a path, which checks the file's own mode but not the directories above
   * it: each must be readable by others (0644), and may sit in a private directory.
   */
  inputs?: string[];
  /** Written to the tool's stdin (a debugfs request script for `-f -`). */
  stdin?: string;
  /**
   * The tool's stdout goes to this file (created 0600 when absent, truncated, never through a
   * symlink) instead of the result: binary output such as a file debugfs `cat`s. The descriptor
   * is this process's, so the tool needs no right to the file or its directory.
   */
  stdoutFile?: string;
  /** The most the tool may write to `stdoutFile`: past it the kernel stops it (SIGXFSZ). */
  maxStdoutBytes?: number;
}

/** The path the tool reaches `opts.inputs[i]` by. */
export const toolInput = (i: number): string => `/dev/fd/${4 + i}`;

const searchPath = () => process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
const yes = () => true;
const no = () => false;
let setprivPath: Promise<string | null> | undefined;

/** util-linux's setpriv, when installed: it sets no_new_privs, which Node cannot do for a child. */
function setpriv(): Promise<string | null> {
  setprivPath ??= (async () => {
    for (const dir of searchPath().split(delimiter)) {
      const p = join(dir, 'setpriv');
      if (await access(p, constants.X_OK).then(yes, no)) return p;
    }
    return null;
  })();
  return setprivPath;
}

// Runs on one file are serialised: each hands the file to the tool's uid and back, and two at
// once would record each other's borrowed owner as the one to restore.
const busy = new Map<string, Promise<unknown>>();

/**
 * Runs `argv(dev, inputs)` unprivileged on the file at `path`, which it reaches only as `dev`
 * (`/dev/fd/3`, a descriptor this process opened): the tool never needs to traverse the manager's
 * or agent's private directories. As root it runs as nobody with no supplementary groups (Node
 * drops them when it switches uid) and no_new_privs; the file belongs to nobody for the duration
 * (only its group, read-only, with `readOnly`) and is handed back to its owner afterwards, even
 * when the tool fails or is killed at the deadline. A process that is not root is unprivileged already and runs the tool as itself.
 */
export async function runOnUntrustedDisk(
  path: string,
  argv: (dev: string, inputs: string[]) => string[],
  opts: ToolOptions = {},
): Promise<ToolResult> {
  const prev = busy.get(path) ?? Promise.resolve();
  const mine = prev.catch(() => undefined).then(() => runExclusive(path, argv, opts));
  busy.set(path, mine);
  try {
    return await mine;
  } finally {
    if (busy.get(path) === mine) busy.delete(path);
  }
}

async function runExclusive(
  path: string,
  argv: (dev: string, inputs: string[]) => string[],
  opts: ToolOptions,
): Promise<ToolResult> {
  const root = process.getuid?.() === 0;
  const uid = opts.uid ?? TOOL_UID;
  const before = await stat(path);
  const handles: FileHandle[] = [];
  let out: FileHandle | undefined;
  try {
    handles.push(await open(path, opts.readOnly ? 'r' : 'r+'));
    for (const input of opts.inputs ?? []) handles.push(await open(input, 'r'));
    if (opts.stdoutFile)
      out = await open(
        opts.stdoutFile,
        constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
        0o600,
      );
    if (root && opts.readOnly) {
      // The tool reopens /dev/fd/3, which checks the file's mode: a read-only run gets read
      // access through the group (owner unchanged, so it cannot chmod its way to writing).
      await chown(path, before.uid, uid);
      await chmod(path, 0o640);
    } else if (root) await chown(path, uid, uid);
    const inputs = handles.slice(1).map((_, i) => toolInput(i));
    // A file size limit (RLIMIT_FSIZE) bounds what a crafted disk can make the tool write.
    const limit =
      opts.maxStdoutBytes === undefined ? [] : ['prlimit', `--fsize=${opts.maxStdoutBytes}`, '--'];
    const tool = [...limit, ...argv('/dev/fd/3', inputs)];
    const nnp = await setpriv();
    const [cmd, ...args] = nnp ? [nnp, '--no-new-privs', '--', ...tool] : tool;
    return await new Promise<ToolResult>((resolve, reject) => {
      const child = spawn(cmd!, args, {
        ...(root ? { uid, gid: uid } : {}),
        cwd: '/',
        stdio: [
          opts.stdin === undefined ? 'ignore' : 'pipe',
          out?.fd ?? 'pipe',
          'pipe',
          ...handles.map((h) => h.fd),
        ],
        env: { PATH: searchPath() },
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      // stdout can be a file debugfs `cat`s (an inittab): room for it; stderr is for the reason only.
      child.stdout?.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-4 * 2 ** 20)));
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-64 * 1024)));
      if (child.stdin) {
        // A tool that exits before reading all of it closes the pipe: its exit status tells.
        child.stdin.on('error', () => undefined);
        child.stdin.end(opts.stdin);
      }
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs ?? TOOL_TIMEOUT_MS);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  } finally {
    await Promise.all([...handles, ...(out ? [out] : [])].map((h) => h.close()));
    if (root) {
      await chown(path, before.uid, before.gid);
      await chmod(path, before.mode & 0o7777);
    }
  }
}
