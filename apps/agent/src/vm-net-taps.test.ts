import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNic, AgentVmSpec } from '@hearth/contract';
import { attachTaps, createTaps, deleteTaps, nicTap, tapsAttached } from './vm-net.ts';

// Real TAPs and a real bridge in the host's namespace (names unique to this run).
describe('a VM’s TAPs stay off the network until they are attached', () => {
  const bridge = `hbt${randomBytes(3).toString('hex')}`;
  const vmId = `vm_tap${randomBytes(4).toString('hex')}`;
  const nic: AgentNic = {
    mac: '02:48:0a:3d:01:02',
    ip: '10.62.1.2',
    prefix: 24,
    gateway: '10.62.1.1',
    dns: [],
    network: {
      id: 'net_t',
      name: 't',
      mode: 'nat',
      bridge,
      cidr: '10.62.1.0/24',
      gateway: '10.62.1.1',
      dnsForwarder: false,
      interface: null,
      vlan: null,
      vxlan: null,
    },
  } as AgentNic;
  const spec = {
    id: vmId,
    nics: [nic, { ...nic, mac: '02:48:0a:3d:01:03', ip: null }],
  } as unknown as AgentVmSpec;
  const link = (dev: string) => {
    const up = (parseInt(readFileSync(`/sys/class/net/${dev}/flags`, 'utf8'), 16) & 1) === 1;
    let master: string | null = null;
    try {
      master = readlinkSync(`/sys/class/net/${dev}/master`).split('/').pop()!;
    } catch {
      master = null;
    }
    return { up, master };
  };
  beforeAll(() => execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']));
  afterAll(async () => {
    await deleteTaps(spec);
    spawnSync('ip', ['link', 'del', bridge]);
  });

  it('makes them down and outside the bridge, then joins and raises them, idempotently', async () => {
    const taps = await createTaps(spec, 'agent-x');
    expect(taps.map((t) => t.name)).toEqual([nicTap(vmId, 0), nicTap(vmId, 1)]);
    for (const t of taps) expect(link(t.name)).toEqual({ up: false, master: null });
    expect(await tapsAttached(spec)).toBe(false);

    await attachTaps(spec);
    for (const t of taps) expect(link(t.name)).toEqual({ up: true, master: bridge });
    expect(await tapsAttached(spec)).toBe(true);
    await attachTaps(spec);
    expect(await tapsAttached(spec)).toBe(true);

    // A boot that finds a leftover TAP of the same VM replaces it: down and detached again.
    await createTaps(spec, 'agent-x');
    for (const t of taps) expect(link(t.name)).toEqual({ up: false, master: null });
  });
});
