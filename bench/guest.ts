// Guest agent benchmark: file transfer through the API (client → manager → agent → guest) both
// ways with sha256 checked, each hop on its own (agent → guest channel with and without the
// guest's disk, the guest's disk alone), exec round trip through manager → agent → guest, and
// boot to agent-ready, the agent binary's size and its RSS inside the guest.
// Usage: node --import tsx bench/guest.ts [--quick] [--boots 2] [--execs 100] [--mib 128] [--runs 3]
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ensureGuestAgent } from '@hearth/images';
import { startPlatform } from '../test/helpers/platform.ts';
import { arg, percentile, stats } from './lib.ts';
import { report } from './report.ts';

const quick = process.argv.includes('--quick');
const boots = arg('boots', quick ? 1 : 2);
const execs = arg('execs', quick ? 20 : 100);
const mib = arg('mib', quick ? 64 : 128);
const runs = arg('runs', quick ? 1 : 3);
const TARGET_MIBS = 100;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const mibs = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);
const median = (v: number[]) => percentile(v, 50);

const p = await startPlatform();
try {
  const ready: number[] = [];
  for (let i = 0; i < boots; i++) {
    const t0 = performance.now();
    const vm = await p.client.call('createVm', { body: { name: `gb-${i}`, memoryMib: 512 } });
    await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 300 } });
    const r = await p.client.call('execVm', { params: { id: vm.id }, body: { command: ['true'] } });
    if (r.exitCode !== 0) throw new Error('exec failed');
    ready.push(performance.now() - t0);
    if (i < boots - 1) await p.client.call('deleteVm', { params: { id: vm.id } });
  }
  const vm = await p.client.call('getVm', { params: { id: `gb-${boots - 1}` } });
  const sh = async (command: string) => {
    const r = await p.client.call('execVm', { params: { id: vm.id }, body: { command } });
    if (r.exitCode !== 0) throw new Error(`${command}: ${r.stderr}`);
    return r.stdout;
  };

  const rtt: number[] = [];
  for (let i = 0; i < execs; i++) {
    const t0 = performance.now();
    await p.client.call('execVm', { params: { id: vm.id }, body: { command: ['true'] } });
    rtt.push(performance.now() - t0);
  }

  const data = Buffer.alloc(mib * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  const want = sha256(data);

  // Through the API, as a user does it.
  const up: number[] = [];
  const down: number[] = [];
  let intact = true;
  for (let i = 0; i < runs; i++) {
    const t1 = performance.now();
    await (
      await p.client.raw(
        'uploadFile',
        { params: { id: vm.id }, query: { path: '/root/blob' } },
        { body: data, headers: { 'content-type': 'application/octet-stream' } },
      )
    ).json();
    up.push(mibs(data.length, performance.now() - t1));
    intact &&= (await sh('sha256sum /root/blob')).startsWith(want);
    const t2 = performance.now();
    const back = Buffer.from(
      await (
        await p.client.raw('downloadFile', { params: { id: vm.id }, query: { path: '/root/blob' } })
      ).arrayBuffer(),
    );
    down.push(mibs(back.length, performance.now() - t2));
    intact &&= sha256(back) === want;
  }

  // The table's rows first: a run stopped at its budget during the hop-by-hop part still has them.
  const upM = median(up);
  const downM = median(down);
  report({
    figure: 'file upload / download through the API',
    value: `${upM.toFixed(1)} / ${downM.toFixed(1)} MiB/s (median of ${runs} runs of ${mib} MiB each way, sha256 ${intact ? 'intact' : 'MISMATCH'})`,
    baseline: null,
    ratio: null,
    target: `≥ ${TARGET_MIBS} MiB/s both ways, sha256 intact`,
    met: intact && upM >= TARGET_MIBS && downM >= TARGET_MIBS,
  });
  report({
    figure: 'exec round trip through the API (`true`)',
    value: `p50 ${percentile(rtt, 50).toFixed(0)} ms, p99 ${percentile(rtt, 99).toFixed(0)} ms (n=${rtt.length})`,
    baseline: null,
    ratio: null,
    target: 'reported',
    met: true,
  });

  // Hop by hop: the agent's guest channel alone (no HTTP), with and without the guest's disk.
  const conn = await p.agent!.supervisor.guest(vm.id);
  const channel = async (req: Parameters<typeof conn.open>[0], input?: Buffer) => {
    const t0 = performance.now();
    const s = conn.open(req);
    let n = 0;
    s.on('stdout', (b: Buffer) => (n += b.length));
    if (input) {
      await s.write(input);
      await s.end();
    }
    await s.wait(10 * 60_000);
    return mibs(input ? input.length : n, performance.now() - t0);
  };
  const hop = { chanUpDisk: [] as number[], chanDownDisk: [] as number[] };
  const raw = { chanUp: [] as number[], chanDown: [] as number[] };
  for (let i = 0; i < runs; i++) {
    hop.chanUpDisk.push(await channel({ op: 'fs.write', path: '/root/blob2' }, data));
    hop.chanDownDisk.push(await channel({ op: 'fs.read', path: '/root/blob2' }));
    // In the guest, dd moves 256 KiB per call: busybox `cat` and `head` copy a few KiB per
    // system call, and under TCG their own calls, not the channel, would set the rate.
    raw.chanUp.push(
      await channel({ op: 'exec', command: 'dd of=/dev/null bs=262144 2>/dev/null', stdin: true }, data),
    );
    raw.chanDown.push(
      await channel({ op: 'exec', command: `dd if=/dev/zero bs=262144 count=${mib * 4} 2>/dev/null` }),
    );
  }
  // The guest's disk alone (write with fsync, as an upload ends; read of a file just written),
  // timed from here: busybox dd prints no rate. Includes one exec's start (~30 ms).
  const timedSh = async (command: string) => {
    const t0 = performance.now();
    await sh(command);
    return mibs(data.length, performance.now() - t0);
  };
  const diskWrite = await timedSh(`dd if=/dev/zero of=/root/dd bs=1M count=${mib} conv=fsync 2>/dev/null`);
  const diskRead = await timedSh('dd if=/root/blob of=/dev/null bs=1M 2>/dev/null');
  await sh('rm -f /root/dd /root/blob2');

  const metrics = await p.client.call('vmMetrics', { params: { id: vm.id } });
  const bin = await ensureGuestAgent();
  const f = (v: number[]) => `${median(v).toFixed(1)} MiB/s (runs: ${v.map((x) => x.toFixed(1)).join(', ')})`;

  console.log(`\nguest agent benchmark (QEMU ${vm.accel}, ${vm.vcpus} vCPU, ${vm.memoryMib} MiB)`);
  console.log(stats('create → first successful exec', ready));
  console.log(stats('exec round trip (`true`, manager→agent→guest)', rtt));
  console.log(`API upload ${mib} MiB:              ${f(up)}`);
  console.log(`API download ${mib} MiB:            ${f(down)}; sha256 intact: ${intact}`);
  console.log(`agent→guest fs.write (guest disk):  ${f(hop.chanUpDisk)}`);
  console.log(`guest→agent fs.read (guest disk):   ${f(hop.chanDownDisk)}`);
  console.log(`agent→guest stdin to /dev/null:     ${f(raw.chanUp)}`);
  console.log(`guest→agent stdout from /dev/zero:  ${f(raw.chanDown)}`);
  console.log(
    `guest disk alone: dd write+fsync ${diskWrite.toFixed(1)} MiB/s; read ${diskRead.toFixed(1)} MiB/s`,
  );
  console.log(`guest agent binary: ${((await stat(bin.path)).size / 1024 / 1024).toFixed(2)} MiB (static)`);
  console.log(`guest agent RSS in the guest: ${(metrics.agentRssBytes / 1024 / 1024).toFixed(1)} MiB`);

  if (!intact) process.exitCode = 1;
} finally {
  await p.dispose();
}
