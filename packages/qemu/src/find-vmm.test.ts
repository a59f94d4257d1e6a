import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findQemuByQmp, qmpPathOf } from './find-vmm.ts';

// A stand-in process whose command line names a QMP socket the way a confined QEMU's does
// (relative to its working directory); the lookup reads only /proc.
describe('finding a VMM by its QMP socket', () => {
  let dir: string;
  let child: ChildProcess;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'hearth-find-vmm-')));
    child = spawn(
      process.execPath,
      ['-e', 'setInterval(() => {}, 1000)', '--', '-qmp', 'unix:qmp.sock,server=on'],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
    await new Promise((r) => child.once('spawn', r));
  });
  afterAll(async () => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves a relative QMP path against the working directory', () => {
    expect(qmpPathOf(['qemu', '-qmp', 'unix:qmp.sock,server=on'], dir)).toBe(join(dir, 'qmp.sock'));
    expect(qmpPathOf(['qemu', '-qmp', 'unix:qmp.sock'], null)).toBeNull();
    expect(qmpPathOf(['qemu', '-qmp', 'unix:/abs/q.sock'], dir)).toBe('/abs/q.sock');
    expect(qmpPathOf(['qemu', '-qmp', 'tcp:127.0.0.1:4444'], dir)).toBeNull();
    expect(qmpPathOf(['qemu'], dir)).toBeNull();
  });

  it('finds the live process serving a socket, and none for another path', async () => {
    expect(await findQemuByQmp(join(dir, 'qmp.sock'))).toBe(child.pid);
    expect(await findQemuByQmp(join(dir, 'other.sock'))).toBeNull();
  });
});
