/** A UDP datagram a test namespace sends: `body` names it (and is the payload unless `hex` is given). */
export interface Datagram {
  from?: string;
  fromPort?: number;
  to: string;
  port: number;
  body: string;
  hex?: string;
}

const macBytes = (mac: string) => Buffer.from(mac.replace(/:/g, ''), 'hex');
const ipBytes = (ip: string) => Buffer.from(ip.split('.').map(Number));

function ipChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * A VXLAN payload (hex) carrying one Ethernet frame with an IPv4/UDP datagram from `src` to
 * `dst`: what an attacker sends to a host's VXLAN port to inject traffic into an overlay.
 */
export function encapsulate(
  vni: number,
  src: { mac: string; ip: string },
  dst: { mac: string; ip: string },
  port: number,
  body: string,
): string {
  const payload = Buffer.from(body);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(4444, 0);
  udp.writeUInt16BE(port, 2);
  udp.writeUInt16BE(8 + payload.length, 4); // checksum 0: none, valid for IPv4
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + udp.length + payload.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(17, 9);
  ipBytes(src.ip).copy(ip, 12);
  ipBytes(dst.ip).copy(ip, 16);
  ip.writeUInt16BE(ipChecksum(ip), 10);
  const eth = Buffer.concat([macBytes(dst.mac), macBytes(src.mac), Buffer.from([0x08, 0x00])]);
  const vxlan = Buffer.alloc(8);
  vxlan.writeUInt8(0x08, 0); // the "VNI present" flag
  vxlan.writeUIntBE(vni, 4, 3);
  return Buffer.concat([vxlan, eth, ip, udp, payload]).toString('hex');
}
