import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnUntrustedDisk, TOOL_UID } from './untrusted-disk.ts';

// The agent's data directory is 0700 and its files root's: a tool running as nobody reaches the
// disk only through the descriptor it is handed.
describe('tools on a disk someone else wrote', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-untrusted-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('run as nobody, reach the file by descriptor only, and hand it back to its owner', async () => {
    const file = join(dir, 'secret.img');
    await writeFile(file, 'hello', { mode: 0o600 });
    const r = await runOnUntrustedDisk(file, (dev) => [
      'sh',
      '-c',
      `id -u; id -G; grep NoNewPrivs /proc/self/status; head -c 5 ${dev}; cat ${file}`,
    ]);
    // nobody, no supplementary groups (root's would give it group access), no_new_privs.
    expect(r.stdout).toBe(`${TOOL_UID}\n${TOOL_UID}\nNoNewPrivs:\t1\nhello`);
    // The path itself stays out of reach (the directory is root's, 0700).
    expect(r.stderr).toMatch(/Permission denied/);
    const s = await stat(file);
    expect([s.uid, s.gid, s.mode & 0o777]).toEqual([0, 0, 0o600]);
  });

  it('read further inputs and stdin through what they are handed, and open a read-only disk read-only', async () => {
    const file = join(dir, 'ro.img');
    const input = join(dir, 'input');
    await writeFile(file, 'disk', { mode: 0o600 });
    await writeFile(input, 'input', { mode: 0o644 });
    const r = await runOnUntrustedDisk(
      file,
      (dev, inputs) => ['sh', '-c', `cat ${inputs[0]}; cat; echo x >> ${dev} || echo refused`],
      { readOnly: true, inputs: [input], stdin: 'stdin' },
    );
    expect(r.stdout).toBe('inputstdinrefused\n');
    expect((await stat(file)).uid).toBe(0);
  });

  it('runs on one file one at a time, so each hands back the real owner', async () => {
    const file = join(dir, 'busy.img');
    await writeFile(file, '', { mode: 0o600 });
    // Each tool waits for its go-ahead: a file in a directory every uid can look into.
    const gate = await mkdtemp(join(tmpdir(), 'hearth-gate-'));
    await chmod(gate, 0o755);
    const waitFor = (name: string) => ['sh', '-c', `until [ -e ${join(gate, name)} ]; do sleep 0.02; done`];
    try {
      const first = runOnUntrustedDisk(file, () => waitFor('one'));
      while ((await stat(file)).uid !== TOOL_UID) await new Promise((r) => setTimeout(r, 10));
      // A second run while the first holds the file: it must not take nobody for the owner.
      const second = runOnUntrustedDisk(file, () => waitFor('two'));
      await writeFile(join(gate, 'one'), '');
      await first;
      await writeFile(join(gate, 'two'), '');
      await second;
      expect((await stat(file)).uid).toBe(0);
    } finally {
      await rm(gate, { recursive: true, force: true });
    }
  });

  it('write binary output to a file, stopped at the most it may hold, never through a symlink', async () => {
    const file = join(dir, 'out.img');
    await writeFile(file, 'disk');
    const out = join(dir, 'out.bin');
    const bytes = (n: number) => ['sh', '-c', `head -c ${n} /dev/urandom; echo done >&2`];
    const ok = await runOnUntrustedDisk(file, () => bytes(4096), { stdoutFile: out, maxStdoutBytes: 4096 });
    expect([ok.code, (await stat(out)).size, ok.stdout]).toEqual([0, 4096, '']);
    // One byte more than allowed: the kernel stops the writer there.
    const over = await runOnUntrustedDisk(file, () => ['head', '-c', '8192', '/dev/zero'], {
      stdoutFile: out,
      maxStdoutBytes: 1000,
    });
    expect(over.code).not.toBe(0);
    expect((await stat(out)).size).toBe(1000);
    const link = join(dir, 'link.bin');
    await symlink(join(dir, 'target.bin'), link);
    await expect(runOnUntrustedDisk(file, () => bytes(1), { stdoutFile: link })).rejects.toThrow(/ELOOP/);
  });

  it('are killed at their deadline, and the file is still handed back', async () => {
    const file = join(dir, 'slow.img');
    await writeFile(file, '', { mode: 0o600 });
    const r = await runOnUntrustedDisk(file, () => ['sleep', '30'], { timeoutMs: 100 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect((await stat(file)).uid).toBe(0);
  });

  it('check and grow a real ext4 image that way', async () => {
    const file = join(dir, 'vol.img');
    await writeFile(file, '');
    await truncate(file, 64 * 2 ** 20);
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', file]);
    await truncate(file, 128 * 2 ** 20);
    const fsck = await runOnUntrustedDisk(file, (dev) => ['e2fsck', '-p', '-f', dev]);
    expect(fsck.code, fsck.stderr).toBe(0);
    const grow = await runOnUntrustedDisk(file, (dev) => ['resize2fs', dev]);
    expect(grow.code, grow.stderr).toBe(0);
    const blocks = /Block count:\s+(\d+)/.exec(execFileSync('dumpe2fs', ['-h', file], { encoding: 'utf8' }));
    const size = /Block size:\s+(\d+)/.exec(execFileSync('dumpe2fs', ['-h', file], { encoding: 'utf8' }));
    expect(Number(blocks![1]) * Number(size![1])).toBe(128 * 2 ** 20);
  });
});
