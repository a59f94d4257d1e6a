import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Runs a host command given as an argv array (never a shell string); rejects with its stderr. */
export async function sh(argv: string[], input?: string): Promise<string> {
  const [cmd, ...args] = argv;
  if (input === undefined) {
    try {
      const { stdout } = await execFileP(cmd!, args, { maxBuffer: 8 * 1024 * 1024 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${argv.join(' ')}: ${err.stderr?.trim() || err.message}`);
    }
  }
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    // A command that exits before reading its input makes our write fail (EPIPE); its exit code
    // and stderr say why, so that error is only kept from being fatal.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: ${err.trim() || `exit ${code}`}`)),
    );
    child.stdin.end(input);
  });
}
