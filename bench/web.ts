// Dashboard benchmark: gzipped size of the JavaScript the first page loads; time from navigation
// to the VM list rendered with 200 VMs recorded; keystroke echo latency through the shell
// WebSocket (a real VM, measured in Chromium as the terminal sees it).
// Usage: node --import tsx bench/web.ts [--vms 200] [--loads 10] [--keys 100]
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startPlatform } from '../test/helpers/platform.ts';
import { ensureWebBuild, launchChromium } from '../test/helpers/browser.ts';
import { arg, recordBenchVms, stats } from './lib.ts';

const vms = arg('vms', 200);
const loads = arg('loads', 10);
const keys = arg('keys', 100);
const dist = join(import.meta.dirname, '..', 'apps', 'web', 'dist');

/** The entry script and everything index.html preloads: what runs before the first page renders. */
async function initialJs(): Promise<{ files: number; raw: number; gzip: number }> {
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  const srcs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  let raw = 0;
  let gzip = 0;
  for (const src of srcs) {
    const body = await readFile(join(dist, src));
    raw += body.length;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  return { files: srcs.length, raw, gzip };
}

ensureWebBuild();
const js = await initialJs();
console.log(
  `initial JavaScript: ${js.files} file(s), ${(js.raw / 1024).toFixed(1)} KiB, ${(js.gzip / 1024).toFixed(1)} KiB gzipped`,
);

const p = await startPlatform();
const browser = await launchChromium();
try {
  await recordBenchVms(p, vms);
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(p.manager.url);
  await page.evaluate((t) => localStorage.setItem('hearth.token', t), p.manager.adminToken);

  const times: number[] = [];
  for (let i = 0; i < loads; i++) {
    // A fresh page each time; the first load is cold (nothing cached), the rest hit the HTTP cache.
    const t0 = performance.now();
    await page.goto(`${p.manager.url}/vms`);
    await page.locator(`tr[data-vm="l-${vms - 1}"]`).waitFor({ timeout: 60_000 });
    times.push(performance.now() - t0);
  }
  console.log(`VM list with ${vms} VMs: first load ${times[0]!.toFixed(0)} ms`);
  console.log(stats(`VM list with ${vms} VMs (reloads)`, times.slice(1)));

  const vm = await p.client.call('createVm', { body: { name: 'echo', memoryMib: 128 } });
  await p.client.call('waitVm', { params: { id: vm.id }, query: { state: 'running', timeout: 120 } });
  const url = new URL(p.client.websocket('vmShell', { params: { id: vm.id } }).url);
  url.searchParams.set('token', p.manager.adminToken);
  // Plain JavaScript text: tsx would wrap a function's inner names in a helper the page lacks.
  const echo = (await page.evaluate(`(async () => {
    const ws = new WebSocket(${JSON.stringify(url.toString())});
    ws.binaryType = 'arraybuffer';
    const dec = new TextDecoder();
    let seen = '';
    let waiter = () => {};
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') return;
      seen += dec.decode(m.data);
      waiter();
    };
    const until = (f) => new Promise((resolve) => {
      waiter = () => f() && resolve();
      waiter();
    });
    await new Promise((r) => (ws.onopen = r));
    await until(() => seen.includes('# '));
    const out = [];
    for (let i = 0; i < ${keys}; i++) {
      seen = '';
      const t0 = performance.now();
      ws.send(new TextEncoder().encode('x'));
      await until(() => seen.includes('x'));
      out.push(performance.now() - t0);
    }
    ws.close();
    return out;
  })()`)) as number[];
  console.log(stats('keystroke echo (shell WebSocket)', echo));
} finally {
  await browser.close();
  await p.dispose();
}
