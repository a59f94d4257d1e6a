import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive, runDirPaths, type VmmLaunchSpec } from '@hearth/vmm';
import { writeStandinBinary, type CallRecord } from '../test-support/index.ts';
import { FirecrackerDriver, type FirecrackerDriverOptions } from './driver.ts';

/** A temp directory with the stand-in binary, an ELF-looking kernel and per-VM run dirs (tests only). */
export async function testEnv() {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-fc-'));
  const binary = await writeStandinBinary(dir);
  const kernel = join(dir, 'vmlinux');
  await writeFile(kernel, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]));
  const callLog = join(dir, 'calls.jsonl');
  const pids = new Set<number>();
  return {
    dir,
    binary,
    kernel,
    driver(opts: FirecrackerDriverOptions = {}) {
      return new FirecrackerDriver({
        binary,
        jailer: false,
        pollMs: 50,
        watchdog: { intervalMs: 0, failures: 3 },
        ...opts,
      });
    },
    async spec(name: string, over: Partial<VmmLaunchSpec> = {}): Promise<VmmLaunchSpec> {
      const runDir = join(dir, name);
      await mkdir(runDir, { recursive: true });
      const f = runDirPaths(runDir);
      await writeFile(f.disk, 'disk of ' + name);
      return {
        vmId: `vm_${name}`,
        runDir,
        vcpus: 1,
        memoryMib: 128,
        kernelPath: kernel,
        initrdPath: null,
        diskPath: f.disk,
        cmdline: 'console=ttyS0 quiet',
        consoleLogPath: f.consoleLog,
        tap: { name: `htap${name}`.slice(0, 15), mac: '02:00:00:00:00:01' },
        guestSocketPath: f.guestSocket,
        ...over,
      };
    },
    /** Stand-in behaviour for the next launches, and a fresh call log. */
    async standin(env: Record<string, string> = {}) {
      await rm(callLog, { force: true });
      for (const k of ['FC_CHECKER_FAIL', 'FC_CHECKER_HANG', 'FC_CHECKER_CTRLALTDEL', 'FC_CHECKER_VERSION'])
        delete process.env[k];
      Object.assign(process.env, { FC_CHECKER_LOG: callLog, ...env });
    },
    async calls(): Promise<CallRecord[]> {
      const text = await readFile(callLog, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as CallRecord);
    },
    track(pid: number) {
      pids.add(pid);
    },
    async dispose() {
      for (const pid of pids) {
        if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      for (const k of [
        'FC_CHECKER_LOG',
        'FC_CHECKER_FAIL',
        'FC_CHECKER_HANG',
        'FC_CHECKER_CTRLALTDEL',
        'FC_CHECKER_VERSION',
      ])
        delete process.env[k];
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type TestEnv = Awaited<ReturnType<typeof testEnv>>;
