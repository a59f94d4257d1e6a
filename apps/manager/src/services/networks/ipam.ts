/** IPv4 helpers for the default NAT network's address management. */
export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export interface Subnet {
  cidr: string;
  network: number;
  prefix: number;
  gateway: string;
}

export function parseCidr(cidr: string): Subnet {
  const [addr, p] = cidr.split('/');
  const prefix = Number(p);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(ipToInt(addr!) / size) * size;
  return { cidr: `${intToIp(network)}/${prefix}`, network, prefix, gateway: intToIp(network + 1) };
}

/** The lowest free host address (the gateway takes .1, broadcast excluded). */
export function nextFreeIp(subnet: Subnet, used: Set<string>): string | null {
  const size = 2 ** (32 - subnet.prefix);
  for (let i = 2; i < size - 1; i++) {
    const ip = intToIp(subnet.network + i);
    if (!used.has(ip)) return ip;
  }
  return null;
}

/** Locally administered unicast MAC derived from the IP, stable and unique within the network. */
export function macForIp(ip: string): string {
  const n = ipToInt(ip);
  const bytes = [0x02, 0x48, ...[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
