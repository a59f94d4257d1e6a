import { randomBytes } from 'node:crypto';
import { sh } from './exec.ts';

export interface NetFeature {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Which network features this host's kernel really offers, found by trying each once in a
 * throwaway network namespace (nothing touches the host's own interfaces): bridges, VXLAN,
 * 802.1Q VLAN devices, bridge VLAN filtering, tc shaping and nftables NAT. Networks a host
 * cannot carry are refused by name instead of failing half-way.
 */
export async function probeNetFeatures(): Promise<NetFeature[]> {
  const ns = `hcap${randomBytes(4).toString('hex')}`;
  const inNs = (...args: string[]) => sh(['ip', '-n', ns, ...args]);
  const tryIt = async (name: string, ok: string, fn: () => Promise<unknown>): Promise<NetFeature> => {
    try {
      await fn();
      return { name, ok: true, detail: ok };
    } catch (e) {
      const why = (e as Error).message.split('\n').find((l) => /error|not supported|unknown/i.test(l));
      return {
        name,
        ok: false,
        detail: `not supported by this kernel (${(why ?? (e as Error).message).trim().slice(0, 160)})`,
      };
    }
  };
  try {
    await sh(['ip', 'netns', 'add', ns]);
  } catch (e) {
    return [
      {
        name: 'net-namespaces',
        ok: false,
        detail: `cannot create a network namespace: ${(e as Error).message}`,
      },
    ];
  }
  try {
    // A veth pair as the lower device: dummy interfaces are a module some kernels lack.
    await inNs('link', 'add', 'hd0', 'type', 'veth', 'peer', 'name', 'hd1');
    return [
      await tryIt('net-bridge', 'Linux bridges', () => inNs('link', 'add', 'hbr0', 'type', 'bridge')),
      await tryIt('net-vxlan', 'VXLAN overlays', () =>
        inNs('link', 'add', 'hvx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '127.0.0.1'),
      ),
      await tryIt('net-8021q', '802.1Q VLAN devices', () =>
        inNs('link', 'add', 'link', 'hd0', 'name', 'hd0.5', 'type', 'vlan', 'id', '5'),
      ),
      await tryIt('net-bridge-vlan-filtering', 'bridge VLAN filtering', () =>
        inNs('link', 'add', 'hbr1', 'type', 'bridge', 'vlan_filtering', '1'),
      ),
      await tryIt('net-tc', 'tc rate limiting (tbf)', () =>
        sh([
          'tc',
          '-n',
          ns,
          'qdisc',
          'add',
          'dev',
          'hd0',
          'root',
          'tbf',
          'rate',
          '1mbit',
          'burst',
          '32kbit',
          'latency',
          '400ms',
        ]),
      ),
      await tryIt('net-nat', 'nftables NAT', () =>
        sh(
          ['ip', 'netns', 'exec', ns, 'nft', '-f', '-'],
          'table ip t {\n  chain c {\n    type nat hook postrouting priority srcnat; policy accept;\n    masquerade\n  }\n}\n',
        ),
      ),
    ];
  } finally {
    await sh(['ip', 'netns', 'del', ns]).catch(() => undefined);
  }
}
