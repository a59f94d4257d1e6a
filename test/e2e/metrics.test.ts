import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm, VmMetricsHistory } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { until } from '../helpers/vm.ts';
import { familyOf, promtoolCheck, readScrape } from '../helpers/prom.ts';

/**
 * A real VM under a real agent: the agent samples its guest every 10 s, serves the samples on its
 * own /metrics (checked by promtool), and sends them with its heartbeat to the manager, whose
 * history then answers for the VM.
 */
let p: Platform;
let vm: Vm;

beforeAll(async () => {
  p = await startPlatform();
  const created = await p.client.call('createVm', { body: { name: 'metrics-e2e', memoryMib: 192 } });
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 120 },
  });
}, 180_000);

afterAll(async () => {
  await p?.dispose();
});

describe('agent metrics and VM history (real VM)', () => {
  /** GET /metrics on the agent, trusting the platform's agent CA as the manager does. */
  const agentScrape = async (token?: string): Promise<{ status: number; text: () => Promise<string> }> => {
    const ca = await readFile(join(p.dir, 'manager', 'ca', 'ca.crt'), 'utf8');
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const req = request(
        `${p.agent!.url}/metrics`,
        { headers, ca, checkServerIdentity: () => undefined },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: async () => body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  };

  it("serves the VM's guest metrics on the agent's /metrics, to the manager's token only", async () => {
    expect((await agentScrape()).status).toBe(401);
    expect((await agentScrape('x'.repeat(40))).status).toBe(401);
    const host = await p.manager.stores.hosts.require(p.agent!.hostId);
    let text = '';
    await until(
      'the agent sampled the guest',
      async () => {
        const r = await agentScrape(host.callback_token);
        expect(r.status).toBe(200);
        text = await r.text();
        return text.includes(`hearth_vm_memory_total_bytes{vm="${vm.id}"}`);
      },
      60_000,
    );
    const check = promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
    const { types, samples } = readScrape(text);
    const one = (name: string) => samples.find((s) => s.name === name && s.labels.vm === vm.id);
    // The guest has 192 MiB less what the kernel keeps; it uses some of it.
    expect(one('hearth_vm_memory_total_bytes')!.value).toBeGreaterThan(100 * 2 ** 20);
    expect(one('hearth_vm_memory_total_bytes')!.value).toBeLessThanOrEqual(192 * 2 ** 20);
    expect(one('hearth_vm_memory_used_bytes')!.value).toBeGreaterThan(0);
    expect(one('hearth_vm_disk_total_bytes')!.value).toBeGreaterThan(0);
    expect(one('hearth_vm_network_receive_bytes_total')).toBeDefined();
    expect(one('hearth_vm_vmm_resident_bytes')!.value).toBeGreaterThan(50 * 2 ** 20);
    expect(one('hearth_vm_vmm_cpu_seconds_total')!.value).toBeGreaterThan(0);
    expect(samples.find((s) => s.name === 'hearth_agent_vms' && s.labels.phase === 'running')?.value).toBe(1);
    expect(
      samples.find(
        (s) => s.name === 'hearth_agent_guest_request_duration_seconds_count' && s.labels.op === 'metrics',
      )?.value,
    ).toBeGreaterThanOrEqual(1);
    for (const s of samples) expect(familyOf(s.name, types), s.name).not.toBeNull();
  }, 90_000);

  it('keeps the samples the heartbeats bring as the VM history', async () => {
    let h: VmMetricsHistory | null = null;
    await until(
      'two samples in the history',
      async () => {
        h = await p.client.call('vmMetricsHistory', { params: { id: vm.id }, query: { range: '1h' } });
        return h.points.length >= 2;
      },
      90_000,
    );
    const last = h!.points.at(-1)!;
    expect(last.memTotalBytes).toBeGreaterThan(100 * 2 ** 20);
    expect(last.diskTotalBytes).toBeGreaterThan(0);
    // The second sample has a network rate (the first has none to compare with).
    expect(last.rxBytesPerSec).not.toBeNull();
    const host = await p.client.call('hostMetricsHistory', {
      params: { id: p.agent!.hostId },
      query: { range: '1h' },
    });
    expect(host.points.at(-1)!.vmCount).toBeGreaterThanOrEqual(1);
    // The host's CPU use, measured by its agent between heartbeats, is kept with its samples.
    const cpu = host.points.map((x) => x.cpuPercent).filter((c) => c !== null);
    expect(cpu.length).toBeGreaterThanOrEqual(1);
    for (const c of cpu) expect(c).toBeGreaterThanOrEqual(0);
    expect(Math.max(...cpu)).toBeGreaterThan(0);
    expect(Math.max(...cpu)).toBeLessThanOrEqual(100);
  }, 120_000);
});
