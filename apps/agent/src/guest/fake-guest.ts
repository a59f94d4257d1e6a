import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { FrameType } from '@hearth/contract';
import { encodeFrame, FrameDecoder, parseJsonPayload } from '@hearth/contract/guest-codec';
import { GuestConnection } from './connection.ts';

// Test support (no test in here): a scripted guest agent and a connection to it.

const WELCOME = {
  protocol: 1,
  agentVersion: 'test',
  hostname: 'g',
  bootId: 'b',
  pid: 1,
  uptimeSec: 1,
  capabilities: [],
};

export type Behaviour = (
  sock: Socket,
  frame: { stream: number; type: number; json: Record<string, unknown> | null; payload: Buffer },
) => void;

/**
 * A fake guest on a Unix socket: answers HELLO, then hands every frame to `behave`. `capabilities`
 * go into its WELCOME (['credit'] makes it a guest that speaks per-stream credit).
 */
export function fakeGuest(
  behave: Behaviour,
  capabilities: string[] = [],
  welcome: Partial<typeof WELCOME> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-guest-'));
  const path = join(dir, 'g.sock');
  const sockets: Socket[] = [];
  const hellos: Array<Record<string, unknown>> = [];
  let connections = 0;
  const server: Server = createServer((sock) => {
    connections++;
    sockets.push(sock);
    const dec = new FrameDecoder();
    sock.on('error', () => undefined);
    sock.on('data', (chunk) => {
      for (const f of dec.push(chunk)) {
        if (f.type === FrameType.HELLO) {
          const hello = parseJsonPayload(f);
          hellos.push(hello);
          if (hello.secret !== 's3cret') {
            sock.write(
              encodeFrame(0, FrameType.RESULT, {
                ok: false,
                error: { code: 'UNAUTHENTICATED', message: 'bad secret' },
              }),
            );
          } else sock.write(encodeFrame(0, FrameType.WELCOME, { ...WELCOME, ...welcome, capabilities }));
          continue;
        }
        const json =
          f.type === FrameType.REQUEST || f.type === FrameType.CONTROL ? parseJsonPayload(f) : null;
        behave(sock, { stream: f.stream, type: f.type, json, payload: f.payload });
      }
    });
  });
  server.listen(path);
  return {
    path,
    get connections() {
      return connections;
    },
    /** Every HELLO received, parsed. */
    hellos,
    /** Drops every connection, as a VMM resetting the channel does. */
    dropAll() {
      for (const s of sockets.splice(0)) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A host-side connection to a fake guest (secret `s3cret` is the one it accepts). */
export function connectToFake(path: string, log: Logger, secret = 's3cret'): GuestConnection {
  return new GuestConnection({
    connect: () =>
      new Promise((resolve, reject) => {
        const s = createConnection(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    secret,
    log,
    helloEveryMs: 100,
  });
}
