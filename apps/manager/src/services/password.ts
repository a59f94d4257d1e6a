import { spawn } from 'node:child_process';

/**
 * SHA-512 crypt ($6$) of a password, the format /etc/shadow and busybox/glibc login understand.
 * OpenSSL does the hashing (a maintained implementation); the password goes in on stdin, never argv.
 */
export function hashPassword(password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['passwd', '-6', '-stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) => reject(new Error(`Hashing the password failed: ${e.message}`)));
    // An openssl that exits before reading stdin fails our write (EPIPE); its exit code reports it.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      const hash = out.trim();
      if (code === 0 && hash.startsWith('$6$')) resolve(hash);
      else reject(new Error(`Hashing the password failed: openssl exited with ${code}: ${err.trim()}`));
    });
    child.stdin.end(password.replace(/\n/g, '') + '\n');
  });
}
