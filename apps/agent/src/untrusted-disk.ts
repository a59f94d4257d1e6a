import { spawn } from 'node:child_process';
import { chown, open, stat } from 'node:fs/promises';

/**
 * The uid and gid (nobody) a filesystem tool runs as when it reads a disk someone else wrote (a
 * guest's volume): a bug in libext2fs that a crafted filesystem triggers must not become host root.
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

/**
 * Runs `argv(dev)` unprivileged on the file at `path`, which it reaches only as `dev`
 * (`/dev/fd/3`, a descriptor this process opened): the tool never needs to traverse the agent's
 * private directories. The file belongs to the tool's uid for the duration and is handed back to
 * its owner afterwards, even when the tool fails or is killed at the deadline.
 */
export async function runOnUntrustedDisk(
  path: string,
  argv: (dev: string) => string[],
  opts: { timeoutMs?: number; uid?: number } = {},
): Promise<ToolResult> {
  const uid = opts.uid ?? TOOL_UID;
  const before = await stat(path);
  const file = await open(path, 'r+');
  try {
    await chown(path, uid, uid);
    const [cmd, ...args] = argv('/dev/fd/3');
    return await new Promise<ToolResult>((resolve, reject) => {
      const child = spawn(cmd!, args, {
        uid,
        gid: uid,
        stdio: ['ignore', 'pipe', 'pipe', file.fd],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-64 * 1024)));
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-64 * 1024)));
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
    await file.close();
    await chown(path, before.uid, before.gid);
  }
}
