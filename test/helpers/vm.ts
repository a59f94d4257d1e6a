import { execFileSync } from 'node:child_process';

export { pidAlive } from '@hearth/qemu';

export function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Polls a condition until it holds (events we cannot subscribe to, like a process exiting). */
export async function until(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Types into a VM's serial console and waits for its output: QEMU's chardev socket, or, for
 * Firecracker (no console.sock), the console.in FIFO with output read from console.log.
 */
export async function consoleSession(sockPath: string) {
  const { existsSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  let out = '';
  const sock = existsSync(sockPath) ? await socketConsole(sockPath) : await fifoConsole(dirname(sockPath));
  sock.on('data', (d: Buffer | string) => (out += d.toString()));
  const expect = (re: RegExp, timeoutMs = 30_000) =>
    until(`console output ${re}`, () => re.test(out), timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}; console so far: ${JSON.stringify(out.slice(-400))}`);
    });
  return {
    send: (text: string) => sock.write(text),
    /** Gets a root shell: Enter until getty prompts (late console lines may follow the first prompt). */
    async login() {
      for (let i = 0; i < 30 && !/login: /.test(out); i++) {
        sock.write('\n');
        await new Promise((r) => setTimeout(r, 500));
      }
      await expect(/login: /);
      sock.write('root\n');
      await expect(/~ # /);
    },
    expect,
    output: () => out,
    /** end(), not destroy(): what was just typed must still reach the guest. */
    close: () => sock.end(),
  };
}

async function socketConsole(path: string) {
  const { createConnection } = await import('node:net');
  const sock = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  return sock;
}

/** Firecracker: input through the console.in FIFO the VMM holds as stdin, output tailed from console.log. */
async function fifoConsole(runDir: string) {
  const { EventEmitter } = await import('node:events');
  const { createWriteStream, statSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const log = join(runDir, 'console.log');
  const input = createWriteStream(join(runDir, 'console.in'), { flags: 'a' });
  const ev = new EventEmitter();
  let offset = statSync(log).size;
  const timer = setInterval(() => {
    const size = statSync(log).size;
    if (size > offset) ev.emit('data', readFileSync(log).subarray(offset, size));
    offset = size;
  }, 50);
  return Object.assign(ev, {
    write: (text: string) => input.write(text),
    end: () => {
      clearInterval(timer);
      input.end();
    },
  });
}
