// The E2B benchmark's file throughput and pause/resume figures (bench/e2b.ts runs them): 10 MB
// written and read through the SDK's files API and through Hearth's /v1/vms/{id}/files; pause to
// disk and resume on connect, with the QEMU process's RSS released, next to Hearth's in-memory
// pause and resume of a VM.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Sandbox } from 'e2b';
import type { Platform } from '../test/helpers/platform.ts';
import { rssMiB } from './lib.ts';

export const FILE_MB = 10;
type Opts = { apiUrl: string; sandboxUrl: string; apiKey: string; requestTimeoutMs: number };

export interface FileFigures {
  e2bWrite: number[];
  e2bRead: number[];
  hearthWrite: number[];
  hearthRead: number[];
}

/** MB/s of one transfer of FILE_MB that took `ms`. */
const mbps = (ms: number) => FILE_MB / (ms / 1000);

/** `reps` writes and reads of 10 MB each way, into `sbx` (SDK) and its VM (Hearth API). */
export async function fileThroughput(p: Platform, sbx: Sandbox, reps: number): Promise<FileFigures> {
  const data = randomBytes(FILE_MB * 1024 * 1024);
  const out: FileFigures = { e2bWrite: [], e2bRead: [], hearthWrite: [], hearthRead: [] };
  const vm = await p.client.call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } });
  const files = (path: string) => `${p.manager.url}/v1/vms/${vm.id}/files?path=${encodeURIComponent(path)}`;
  const auth = { authorization: `Bearer ${p.manager.adminToken}` };
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    await sbx.files.write('/tmp/bench-e2b', data.buffer.slice(0) as ArrayBuffer);
    out.e2bWrite.push(mbps(performance.now() - t));
    t = performance.now();
    const got = await sbx.files.read('/tmp/bench-e2b', { format: 'bytes' });
    out.e2bRead.push(mbps(performance.now() - t));
    if (got.length !== data.length) throw new Error(`e2b read ${got.length} bytes of ${data.length}`);

    t = performance.now();
    const put = await fetch(files('/tmp/bench-hearth'), {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: data,
    });
    if (!put.ok) throw new Error(`upload: ${put.status} ${await put.text()}`);
    out.hearthWrite.push(mbps(performance.now() - t));
    t = performance.now();
    const res = await fetch(files('/tmp/bench-hearth'), { headers: auth });
    const body = Buffer.from(await res.arrayBuffer());
    out.hearthRead.push(mbps(performance.now() - t));
    if (body.length !== data.length) throw new Error(`hearth read ${body.length} bytes of ${data.length}`);
  }
  return out;
}

export interface PauseFigures {
  e2bPause: number[];
  e2bResume: number[];
  rssReleased: number[];
  hearthPause: number[];
  hearthResume: number[];
}

const vmmPid = async (p: Platform, vmId: string) =>
  Number((await readFile(join(p.dir, 'agent', 'vms', vmId, 'qemu.pid'), 'utf8')).trim());

/** True once `pid` is no longer a live process. */
const gone = async (pid: number) =>
  !(await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (c) => c.length > 0,
    () => false,
  ));

/**
 * `rounds` of: a sandbox, a command, pause (timed; the QEMU RSS just before it is what it
 * releases), connect → first command answered (timed); then Hearth's pause and resume of a VM.
 */
export async function pauseResume(p: Platform, opts: Opts, rounds: number): Promise<PauseFigures> {
  const out: PauseFigures = {
    e2bPause: [],
    e2bResume: [],
    rssReleased: [],
    hearthPause: [],
    hearthResume: [],
  };
  for (let r = 0; r < rounds; r++) {
    const sbx = await Sandbox.create({ ...opts, timeoutMs: 600_000 });
    try {
      await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0 });
      await sbx.commands.run('true');
      const vm = await p.client.call('getVm', { params: { id: `e2b-${sbx.sandboxId}` } });
      const pid = await vmmPid(p, vm.id);
      const rss = await rssMiB(pid);
      let t = performance.now();
      await sbx.pause();
      out.e2bPause.push(performance.now() - t);
      if (!(await gone(pid))) throw new Error(`QEMU ${pid} still runs after pause`);
      out.rssReleased.push(rss);
      t = performance.now();
      const back = await Sandbox.connect(sbx.sandboxId, { ...opts, timeoutMs: 600_000 });
      await back.commands.run('true');
      out.e2bResume.push(performance.now() - t);
    } finally {
      await Sandbox.kill(sbx.sandboxId, opts).catch(() => undefined);
    }

    const vm = await p.client.call('createVm', { body: { name: `bench-pause-${r}`, memoryMib: 192 } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
    let t = performance.now();
    await p.client.call('pauseVm', { params: { id: vm.id } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'paused', timeout: 300 } });
    out.hearthPause.push(performance.now() - t);
    t = performance.now();
    await p.client.call('resumeVm', { params: { id: vm.id } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
    await p.client.call('execVm', { params: { id: vm.id }, body: { command: ['true'] } });
    out.hearthResume.push(performance.now() - t);
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await p.manager.vmService.drain();
  }
  return out;
}
