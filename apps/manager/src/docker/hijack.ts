import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { HearthBackend } from './backend.ts';
import { credsOf } from './calls.ts';
import { DockerError, notSupported } from './errors.ts';
import type { ExecStore } from './exec-store.ts';
import { runExec } from './exec-run.ts';
import { stripVersion } from './version-prefix.ts';

const MAX_BODY = 64 * 1024;

function answer(socket: Duplex, e: DockerError): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ message: e.message });
  socket.end(
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The request body of an upgrade request: the first bytes after the headers, up to Content-Length. */
async function readBody(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!(length >= 0) || length > MAX_BODY) throw new DockerError(400, 'The request body is too large.');
  let got = head;
  while (got.length < length) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => done(d);
      const onEnd = () => done(null);
      const done = (d: Buffer | null) => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
        resolve(d);
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.resume();
    });
    if (!chunk) throw new DockerError(400, 'The request body ended early.');
    got = Buffer.concat([got, chunk]);
  }
  return { body: got.subarray(0, length), rest: got.subarray(length) };
}

/**
 * Docker's hijacked connections (`Connection: Upgrade`, `Upgrade: tcp`): `POST /exec/{id}/start`
 * answers `101 UPGRADED` and the connection then carries the exec's stdin one way and its output
 * the other (raw with a TTY, multiplexed frames without); the client half-closes it to end stdin.
 * Attach is refused: containers have no attachable stdio.
 */
export function hijackHandler(backend: HearthBackend, execs: ExecStore, log: Logger) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void (async () => {
      try {
        const path = stripVersion(req.url ?? '/').split('?')[0]!;
        const m = /^\/exec\/([^/]+)\/start$/.exec(path);
        if (req.method !== 'POST' || !m) {
          if (/^\/containers\/[^/]+\/attach/.test(path))
            throw notSupported(
              'Attaching to a container (`docker run` without -d, `docker start -a`, `docker attach`); run it with `docker run -d`, read it with `docker logs -f`, or use `docker exec -it`',
            );
          throw notSupported(`${req.method} ${path} with Upgrade`);
        }
        const creds = credsOf(req.headers);
        const { rest } = await readBody(req, socket, head);
        const rec = execs.require(decodeURIComponent(m[1]!));
        if (rec.running || rec.endedAt) throw new DockerError(409, `Exec ${rec.id} has already run`);
        rec.creds = creds;
        socket.write(
          'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n' +
            'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
        );
        if (rest.length) socket.unshift(rest);
        socket.resume();
        await runExec(backend, rec, { out: socket, input: rec.config.AttachStdin ? socket : null });
      } catch (e) {
        if (e instanceof DockerError) answer(socket, e);
        else {
          log.warn({ err: e }, 'docker hijacked request failed');
          answer(socket, new DockerError(500, (e as Error).message));
        }
      }
    })();
  };
}
