// Containers benchmark, on the Debian-built nginx image from the local registry:
//  - `run` → app answering HTTP, as a container vs the same image as a plain VM;
//  - `docker run -d` (Debian's docker client through the Docker API) vs the Hearth API;
//  - app log throughput (lines written in the guest until all are readable on the host) and the
//    follow latency (a line's guest timestamp to its arrival in a followed stream).
// Usage: node --import tsx bench/containers.ts [--runs 3] [--lines 200000]
import { request } from 'node:http';
import type { HearthClient } from '@hearth/sdk';
import { startPlatform } from '../test/helpers/platform.ts';
import { pushDebianImage, startRegistry } from '../test/helpers/oci.ts';
import { dockerCli } from '../test/helpers/docker-cli.ts';
import { arg, percentile, stats } from './lib.ts';

const runs = arg('runs', 3);
const lines = arg('lines', 200_000);

const httpOk = (ip: string) =>
  new Promise<boolean>((resolve) => {
    const req = request({ host: ip, port: 80, path: '/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });

/** Milliseconds from t0 until `ip` answers HTTP 200 (the address appears once the VM has one). */
async function untilServing(t0: number, ipOf: () => Promise<string | null>): Promise<number> {
  for (;;) {
    const ip = await ipOf();
    if (ip && (await httpOk(ip))) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function logLines(client: HearthClient, id: string, query: Record<string, string>) {
  const res = await client.raw('containerLogs', {
    params: { id },
    query: { format: 'ndjson', ...query } as never,
  });
  return (await res.text()).split('\n').filter(Boolean);
}

const reg = await startRegistry();
const p = await startPlatform({ manager: { importAllow: ['127.0.0.0/8'] } });
try {
  const ref = await pushDebianImage(reg.host, 'web');
  // Pull once (not timed): every run below reuses the import.
  const first = await p.client.call('createContainer', { body: { name: 'cb-pull', image: ref } });
  await p.client.call('waitContainer', {
    params: { id: first.id },
    query: { condition: 'running', timeout: 600 },
  });
  const imageId = (await p.client.call('getContainer', { params: { id: first.id } })).imageId!;
  await p.client.call('deleteContainer', { params: { id: first.id }, query: { force: 'true' } });

  const asContainer: number[] = [];
  const asVm: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    const c = await p.client.call('createContainer', { body: { name: `cb-c${i}`, image: ref } });
    asContainer.push(
      await untilServing(t0, async () => (await p.client.call('getContainer', { params: { id: c.id } })).ip),
    );
    await p.client.call('deleteContainer', { params: { id: c.id }, query: { force: 'true' } });
    t0 = performance.now();
    const vm = await p.client.call('createVm', {
      body: { name: `cb-v${i}`, image: imageId, memoryMib: 256 },
    });
    asVm.push(
      await untilServing(t0, async () => (await p.client.call('getVm', { params: { id: vm.id } })).ip),
    );
    await p.client.call('deleteVm', { params: { id: vm.id }, query: { force: 'true' } as never });
  }

  // The docker client's overhead: run -d + rm -f, against create + wait running + delete.
  const docker = await dockerCli(p.manager.docker[0]!, p.manager.adminToken);
  const viaDocker: number[] = [];
  const viaApi: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await docker.ok('run', '-d', '--name', `cb-d${i}`, ref);
    await docker.ok('rm', '-f', `cb-d${i}`);
    viaDocker.push(performance.now() - t0);
    t0 = performance.now();
    const c = await p.client.call('createContainer', { body: { name: `cb-a${i}`, image: ref } });
    await p.client.call('waitContainer', {
      params: { id: c.id },
      query: { condition: 'running', timeout: 600 },
    });
    await p.client.call('deleteContainer', { params: { id: c.id }, query: { force: 'true' } });
    await p.client
      .call('waitContainer', { params: { id: c.id }, query: { condition: 'removed', timeout: 600 } })
      .catch(() => undefined);
    viaApi.push(performance.now() - t0);
  }
  await docker.dispose();

  // Log throughput: the app writes `lines` lines of 100 bytes as fast as `yes` can, then a
  // marker, then a line every 200 ms; measured from the first line's guest timestamp until the
  // host has stored the marker (the whole path: guest ring, channel, host store).
  const body = 'x'.repeat(94);
  const script = `yes "line-${body}" | head -n ${lines}; echo done-marker; while :; do echo tick; sleep 0.2; done`;
  const lc = await p.client.call('createContainer', {
    body: { name: 'cb-logs', image: ref, entrypoint: ['/bin/sh', '-c', script], command: [] },
  });
  await p.client.call('waitContainer', {
    params: { id: lc.id },
    query: { condition: 'running', timeout: 600 },
  });
  let hostDone = 0;
  for (;;) {
    const last = await logLines(p.client, lc.id, { tail: '3' });
    hostDone = Date.now();
    if (last.some((l) => l.includes('done-marker') || l.includes('"tick"'))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const all = await logLines(p.client, lc.id, { tail: 'all' });
  const got = all.filter((l) => l.includes('"line-')).length;
  const recs = all.map((l) => JSON.parse(l) as { t: string; line: string });
  const firstT = Date.parse(recs.find((r) => r.line.startsWith('line-'))!.t);
  const markerT = Date.parse(recs.find((r) => r.line === 'done-marker')!.t);
  const appSeconds = (markerT - firstT) / 1000;
  const hostSeconds = (hostDone - firstT) / 1000;

  // Follow latency: the guest's timestamp of each tick to its arrival here (clocks synced at boot).
  const ac = new AbortController();
  const res = await p.client.raw(
    'containerLogs',
    { params: { id: lc.id }, query: { format: 'ndjson', follow: 'true', tail: '0' } as never },
    { signal: ac.signal },
  );
  const latency: number[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  while (latency.length < 30) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts.filter(Boolean)) {
      const r = JSON.parse(l) as { t: string; line: string };
      if (r.line === 'tick') latency.push(Date.now() - Date.parse(r.t));
    }
  }
  ac.abort();
  await p.client.call('deleteContainer', { params: { id: lc.id }, query: { force: 'true' } });

  const med = (v: number[]) => percentile(v, 50);
  console.log(`\ncontainers benchmark (QEMU, nginx-light image from Debian packages, ${runs} runs)`);
  console.log(stats('container create → nginx answering', asContainer));
  console.log(stats('same image as a plain VM → answering', asVm));
  console.log(`ratio container / plain VM (p50): ${(med(asContainer) / med(asVm)).toFixed(2)}`);
  console.log(stats('docker run -d + docker rm -f', viaDocker));
  console.log(stats('API create + wait running + delete', viaApi));
  console.log(`docker client overhead (p50): ${(med(viaDocker) - med(viaApi)).toFixed(0)} ms`);
  const mib = (lines * 100) / 2 ** 20;
  console.log(
    `log throughput: ${got}/${lines} lines (${mib.toFixed(1)} MiB) written by the app in ${appSeconds.toFixed(1)} s; ` +
      `all stored on the host ${hostSeconds.toFixed(1)} s after the first (${(mib / hostSeconds).toFixed(2)} MiB/s end to end)`,
  );
  console.log(stats('follow latency (guest timestamp → client)', latency));
} finally {
  await p.dispose();
  await reg.dispose();
}
