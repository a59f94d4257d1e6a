import { createSocket } from 'node:dgram';

/**
 * A tiny authoritative DNS server on loopback for tests: answers A queries for the names it is
 * given, NXDOMAIN for anything else. Stands in for "the internet's DNS" without leaving the host.
 */
export async function testDnsServer(records: Record<string, string>) {
  const sock = createSocket('udp4');
  /** Every name asked, in order (lower case): what a forwarder passed on. */
  const queries: string[] = [];
  sock.on('message', (msg, peer) => {
    let off = 12;
    const labels: string[] = [];
    while (msg[off]) {
      labels.push(msg.subarray(off + 1, off + 1 + msg[off]!).toString());
      off += msg[off]! + 1;
    }
    queries.push(labels.join('.').toLowerCase());
    const question = msg.subarray(12, off + 5);
    const qtype = msg.readUInt16BE(off + 1);
    const ip = records[labels.join('.').toLowerCase()];
    const found = ip !== undefined && qtype === 1;
    const head = Buffer.alloc(12);
    head.writeUInt16BE(msg.readUInt16BE(0), 0);
    head.writeUInt16BE(ip === undefined ? 0x8183 : 0x8180, 2); // response, RD+RA, NXDOMAIN when unknown
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(found ? 1 : 0, 6);
    const answer = found
      ? Buffer.concat([
          Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]),
          Buffer.from(ip.split('.').map(Number)),
        ])
      : Buffer.alloc(0);
    sock.send(Buffer.concat([head, question, answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  return { port: sock.address().port, queries, close: () => sock.close() };
}
