// Access through the guest agent: `hearth ssh VM -- true` wall time (a whole OpenSSH connection:
// CLI start, the ProxyCommand's CLI start, the port stream, key exchange, auth, the command), and
// `hearth port-forward` throughput for a blob each way with its sha256 checked. One VM from the
// OpenSSH tool image (busybox base + Debian's sshd), Debian's ssh client on the host.
// Usage: node --import tsx bench/port-forward.ts [--mib 64] [--connects 5]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../test/helpers/platform.ts';
import { CLI_ENV, HEARTH_BIN, runHearth } from '../test/helpers/proc.ts';
import { guestShell, makeKey, startSshd, uploadOpensshImage } from '../test/helpers/ssh.ts';
import { arg, percentile, stats } from './lib.ts';

const mib = arg('mib', 64);
const connects = arg('connects', 5);

/** Reads everything a local connection sends until it closes (after writing `send`, then half-closing). */
function transfer(port: number, send?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => (send ? s.end(send) : s.end()));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

async function main(): Promise<void> {
  console.log(
    `host: ${availableParallelism()} CPUs, load average (1 min) at start ${loadavg()[0]!.toFixed(2)}`,
  );
  const p = await startPlatform();
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-ssh-'));
  const procs: Array<{ kill(): Promise<void> }> = [];
  try {
    const { key, pub } = makeKey(dir);
    const version = await uploadOpensshImage(p.client, 'openssh');
    const created = await p.client.call('createVm', {
      body: { name: 'fwdbench', image: 'openssh', memoryMib: 512, sshKeys: [pub] },
    });
    const vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 300 },
    });
    if (vm.state !== 'running') throw new Error(`the VM is ${vm.state}`);
    await startSshd(p.client, vm);
    // The blob lives in a tmpfs: the tool image's disk has little room, and a disk would be measured too.
    const sum = (
      await guestShell(
        p.client,
        vm.id,
        [
          'mkdir -p /mnt/b && mount -t tmpfs -o size=' + (mib * 2 + 16) + 'm tmpfs /mnt/b',
          `dd if=/dev/urandom of=/mnt/b/blob bs=1048576 count=${mib} 2>/dev/null`,
          'nc -ll -p 9001 -e cat /mnt/b/blob </dev/null >/dev/null 2>&1 &',
          'nc -ll -p 9002 -e sha256sum </dev/null >/dev/null 2>&1 &',
          'sha256sum /mnt/b/blob',
        ].join('\n'),
      )
    ).split(' ')[0]!;

    const env = {
      ...process.env,
      ...CLI_ENV,
      HEARTH_URL: p.manager.url,
      HEARTH_TOKEN: p.manager.adminToken,
      HOME: dir,
    };
    // OpenSSH takes ~/.ssh from the passwd entry, not HOME: the run's own known_hosts is named.
    const ssh = [
      'ssh',
      vm.name,
      '-i',
      key,
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '--',
      'true',
    ];
    const times: number[] = [];
    for (let i = 0; i < connects; i++) {
      const t0 = performance.now();
      // Not execFileSync: the manager and agent run in this process and must keep answering.
      await promisify(execFile)(process.execPath, [HEARTH_BIN, ...ssh], { env });
      times.push(performance.now() - t0);
    }

    const fwd = runHearth(['port-forward', vm.name, '0:9001', '0:9002'], {
      ...CLI_ENV,
      HOME: dir,
      HEARTH_URL: p.manager.url,
      HEARTH_TOKEN: p.manager.adminToken,
    });
    procs.push(fwd);
    await fwd.waitFor(/-> 9002/, 120_000);
    const port = (remote: number) =>
      Number(new RegExp(`127\\.0\\.0\\.1:(\\d+) -> ${remote}`).exec(fwd.output())![1]);

    let t0 = performance.now();
    const down = await transfer(port(9001));
    const downS = (performance.now() - t0) / 1000;
    const downOk = createHash('sha256').update(down).digest('hex') === sum && down.length === mib * 1048576;

    const blob = randomBytes(mib * 1048576);
    t0 = performance.now();
    const echoed = (await transfer(port(9002), blob)).toString().split(' ')[0];
    const upS = (performance.now() - t0) / 1000;
    const upOk = echoed === createHash('sha256').update(blob).digest('hex');

    console.log(`QEMU ${vm.accel ?? ''}, OpenSSH ${version} in the guest, ${vm.memoryMib} MiB`);
    console.log(stats('hearth ssh VM -- true (wall)', times));
    console.log(`hearth ssh connect p50: ${percentile(times, 50).toFixed(0)} ms`);
    console.log(
      `port-forward guest → host: ${mib} MiB in ${downS.toFixed(2)} s = ${(mib / downS).toFixed(1)} MiB/s, sha256 ${downOk ? 'intact' : 'MISMATCH'}`,
    );
    console.log(
      `port-forward host → guest: ${mib} MiB in ${upS.toFixed(2)} s = ${(mib / upS).toFixed(1)} MiB/s, sha256 ${upOk ? 'intact' : 'MISMATCH'}`,
    );
    if (!downOk || !upOk) process.exitCode = 1;
  } finally {
    for (const pr of procs) await pr.kill();
    await p.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
