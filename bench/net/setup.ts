// 1. The agent's network work on the boot path, with the functions the supervisor calls: the
// network built once per host, then per VM its TAP, its published-port table and (for half of
// them) an egress policy with a rate limit; then the teardown of a VM's share.
import { randomInt } from 'node:crypto';
import {
  applyPolicy,
  applyPorts,
  createTaps,
  deleteTaps,
  ensureNetwork,
  removePolicy,
  removePorts,
  teardownNetwork,
} from '@hearth/agent';
import type { AgentVmSpec } from '@hearth/contract';
import { stats } from '../lib.ts';
import { later } from './undo.ts';

/** Times `taps` VMs' network setup on one NAT network in `${prefix}.0/24`; the report's lines. */
export async function benchSetup(prefix: string, tag: string, taps: number): Promise<string[]> {
  const network = {
    id: `net_netbench${tag}`,
    name: `netbench-${tag}`,
    mode: 'nat' as const,
    bridge: `hbnb${tag}`,
    cidr: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
    dnsForwarder: false,
    interface: null,
    vlan: null,
    vxlan: null,
  };
  const ctx = {
    agent: 'netbench',
    underlay: null,
    dnsUpstream: [],
    features: new Set(['net-bridge', 'net-nat']),
  };
  later(`network ${network.bridge}`, () => teardownNetwork(network));
  const t00 = performance.now();
  await ensureNetwork(network, ctx);
  const buildMs = performance.now() - t00;
  const port0 = randomInt(30000, 40000);
  const again: number[] = [];
  const tap: number[] = [];
  const ports: number[] = [];
  const policy: number[] = [];
  const total: number[] = [];
  const teardown: number[] = [];
  const specs: AgentVmSpec[] = [];
  for (let i = 0; i < taps; i++) {
    const ip = `${prefix}.${10 + (i % 200)}`;
    const spec = {
      id: `vm_netbench${tag}${String(i).padStart(4, '0')}`,
      ports: [{ host: port0 + i, guest: 8080, protocol: 'tcp' as const }],
      egress: i % 2 ? { default: 'deny' as const, allow: ['10.0.0.0/8'], deny: [] } : null,
      bandwidthMbit: i % 2 ? 100 : null,
      nics: [
        {
          mac: `02:48:00:00:00:${(i + 16).toString(16)}`,
          ip,
          prefix: 24,
          gateway: network.gateway,
          dns: [],
          network,
        },
      ],
    } as unknown as AgentVmSpec;
    specs.push(spec);
    later(`network share of ${spec.id}`, () => releaseVm(spec));
    const t0 = performance.now();
    await ensureNetwork(network, ctx);
    const t1 = performance.now();
    await createTaps(spec, 'netbench');
    const t2 = performance.now();
    await applyPorts(spec.id, { ip, bridge: network.bridge }, spec.ports);
    const t3 = performance.now();
    await applyPolicy(spec, 'netbench', { fresh: true });
    const t4 = performance.now();
    again.push(t1 - t0);
    tap.push(t2 - t1);
    ports.push(t3 - t2);
    policy.push(t4 - t3);
    total.push(t4 - t0);
  }
  for (const spec of specs) {
    const t0 = performance.now();
    await releaseVm(spec);
    teardown.push(performance.now() - t0);
  }
  await teardownNetwork(network);
  return [
    `\n1. network setup on the boot path (apps/agent/src/networks.ts, vm-net.ts, net.ts), ${taps} VMs accumulating on one NAT network`,
    `network build (bridge, address, forward/NAT table), first VM on the host: ${buildMs.toFixed(1)} ms`,
    stats('network already built (cached, per VM)', again, 'ms', 2),
    stats('TAP (ip -batch: tuntap, alias, master, up)', tap),
    stats('published-port table (nft -f)', ports),
    stats('egress + rate limit (half the VMs; nft + tc)', policy),
    stats('total per VM', total),
    stats('teardown per VM (TAP, ports, policy)', teardown),
  ];
}

async function releaseVm(spec: AgentVmSpec): Promise<void> {
  await deleteTaps(spec);
  await removePorts(spec.id);
  await removePolicy(spec.id);
}
